package kiosk

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2/lang"

	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/counter"
)

// scanLogText is the last n lines of the installer's scan log (settings, setup).
func (u *UI) scanLogText(n int) string {
	log := u.c.ScanLog()
	return scanLogLines(log[max(0, len(log)-n):])
}

func scanLogLines(es []counter.ScanLogEntry) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "%s  %s\n", e.At.In(flows.Shanghai()).Format("15:04:05.000"), scanLogLine(e))
	}
	if b.Len() == 0 {
		b.WriteString(lang.L("settings.log_empty"))
	}
	return b.String()
}

// scanLogLine says one entry: a scan's log-safe summary (never a raw ID or token), a
// device state change or a rejected frame.
func scanLogLine(e counter.ScanLogEntry) string {
	switch {
	case e.Scan != nil:
		line := scanSummary(*e.Scan)
		if !e.Scan.Valid {
			line += " — " + scanProblem(*e.Scan)
		}
		return line
	case e.State != "":
		return lang.L("log.device", map[string]any{"State": deviceLabel(e.State), "Err": problemText(e.Err, e.Text)})
	}
	return lang.L("log.rejected", map[string]any{"Err": problemText(e.Err, e.Text)})
}

// scanSummary is the log-safe text of a scan.
func scanSummary(s devices.Scan) string {
	switch s.Kind {
	case devices.KindIDNumber:
		return fmt.Sprintf("%s %s", lang.L("kind.id_number"), s.Masked)
	case devices.KindInsuranceQR:
		return lang.L("kind.insurance_qr")
	case devices.KindStaffBadge:
		return fmt.Sprintf("%s %s", lang.L("kind.staff_badge"), s.StaffID)
	case devices.KindGTIN, devices.KindTraceCode, devices.KindGS1:
		return fmt.Sprintf("%s %s", lang.L("kind.drug"), s.Code)
	}
	return lang.L("kind.unknown")
}
