package counter

// Screen names a page kind. Its String is the name the log uses ("screen name=…").
type Screen int

// The counter's screens.
const (
	ScreenSignIn Screen = iota
	ScreenPIN
	ScreenPickManager
	ScreenWaiting
	ScreenManualID
	ScreenIdentify
	ScreenQuestionnaire
	ScreenRecommend
	ScreenFollowUp
	ScreenSummary
	ScreenConfirmAbandon
	ScreenResume
	ScreenLock
	ScreenManager
	ScreenSettings
	ScreenAddPharmacist
)

// String is the screen's name in the log, stable across versions (tools read it).
func (s Screen) String() string {
	names := [...]string{"signInScreen", "pinScreen", "pickManagerScreen", "waitingScreen", "manualIDScreen",
		"identifyScreen", "questionnaireScreen", "recommendScreen", "followUpScreen", "summaryScreen",
		"confirmAbandonScreen", "resumeScreen", "lockScreen", "managerScreen", "settingsScreen", "addPharmacistScreen"}
	if s < 0 || int(s) >= len(names) {
		return "unknownScreen"
	}
	return names[s]
}

// Page is one page of the counter with its own state (the PIN typed so far, the
// manager view's period …). The screens type-switch on it to render it.
type Page interface {
	Screen() Screen
	// rune handles a person's character; true if used.
	rune(c *Core, r rune) bool
	// key handles a named key; true if used.
	key(c *Core, k Key) bool
}

// Key is a named key, spelt as fyne.KeyName spells it.
type Key string

// The named keys the counter uses.
const (
	KeyEnter     Key = "Return"
	KeyKPEnter   Key = "KP_Enter"
	KeyBackspace Key = "BackSpace"
	KeyEscape    Key = "Escape"
	KeyF2        Key = "F2"
	KeyF5        Key = "F5"
	KeyF6        Key = "F6"
)

func isEnter(k Key) bool { return k == KeyEnter || k == KeyKPEnter }

// digit returns the option number of a rune '1'..'9', or 0.
func digit(r rune) int {
	if r >= '1' && r <= '9' {
		return int(r - '0')
	}
	return 0
}

// Text is something to say in the UI's language: a translation key with its
// parameters. The core never writes sentences; the screens render Texts.
type Text struct {
	Key  string
	Args map[string]any
}

// Note is a status-line message.
type Note struct {
	Text Text
	Err  bool // an error (shown in red)
}

// emptyPage is a page without keys of its own.
type emptyPage struct{}

func (emptyPage) rune(*Core, rune) bool { return false }
func (emptyPage) key(*Core, Key) bool   { return false }
