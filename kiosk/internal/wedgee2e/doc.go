// Package wedgee2e holds the real-window test of keyboard-wedge scanning: it builds the
// demo kiosk (cmd/kiosk-demo), starts it under its own Xvfb server (kiosk/internal/realwin),
// types into the GLFW window with xdotool — at 0–1 ms per key as a USB scanner does, at
// ~150 ms per key as a person does — on the sign-in list, the PIN entry, the waiting
// screen, each step, the manual entry, the manager view and the settings, and checks the
// outcome in the kiosk's bbolt store and its log. Linux only; `make test` installs Xvfb and
// xdotool.
package wedgee2e
