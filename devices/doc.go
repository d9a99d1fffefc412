// Package devices turns what counter hardware sends — serial (RS-232 / USB-CDC) scanners and
// card readers, keyboard-wedge scanners and camera frames — into classified, privacy-safe scan
// events.
//
// The pipeline is: bytes → Framer (or Wedge for keystrokes) → Frame → Classifier → Scan.
// SerialReader runs that pipeline on a real port and adds device state events.
//
// Privacy: a raw ID number never leaves the Classifier; it is turned at once into a customer key
// (HMAC-SHA256 with the chain secret) and a masked form. An insurance QR token is kept only in an
// unexported field of Scan, is never marshalled, printed or logged, and is dropped once
// (*Classifier).ResolveInsurance has turned it into a customer key.
package devices
