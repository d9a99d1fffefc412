// Package secretin reads a secret an operator gives a command — a pharmacist's PIN, a
// customer's ID number — from a file, standard input or a prompt at the terminal, never
// from the command line, which ps, /proc and the shell history keep. Both mains use it
// (`hq pharmacist add --pin-file`, `hq forget --id-number-file`, `kiosk forget`).
package secretin

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Source says where a secret comes from: the first line of File ("-": standard input),
// or, with Prompt, what the operator types after a prompt (not echoed when standard
// input is a terminal).
type Source struct {
	File   string
	Prompt bool
}

// Given reports whether a source was named.
func (s Source) Given() bool { return s.File != "" || s.Prompt }

// ErrOnCommandLine is the error for a secret given as a command-line argument.
const ErrOnCommandLine = sentinel("on the command line, where ps and the shell history keep it")

// Read returns the secret what (for messages: "PIN", "ID number") from src; stdin is
// the command's standard input, stderr where a prompt goes. Surrounding white space is
// removed; an empty secret is an error.
func Read(what string, src Source, stdin io.Reader, stderr io.Writer) (string, error) {
	var line string
	var err error
	switch {
	case src.File != "" && src.Prompt:
		return "", fmt.Errorf("%s: give a file or a prompt, not both", what)
	case src.File == "-":
		line, err = firstLine(stdin)
	case src.File != "":
		f, ferr := os.Open(src.File)
		if ferr != nil {
			return "", fmt.Errorf("%s: %w", what, ferr)
		}
		line, err = firstLine(f)
		f.Close()
	case src.Prompt:
		fmt.Fprintf(stderr, "%s: ", what)
		if f, ok := stdin.(*os.File); ok {
			if restore, ok := noEcho(f); ok {
				line, err = firstLine(f)
				restore()
				fmt.Fprintln(stderr)
				break
			}
		}
		line, err = firstLine(stdin)
	default:
		return "", fmt.Errorf("%s: no source given", what)
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if line = strings.TrimSpace(line); line == "" {
		return "", fmt.Errorf("%s: empty", what)
	}
	return line, nil
}

// firstLine reads up to the first newline (at most 1 KiB).
func firstLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 1024)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return line, nil
}

// sentinel is an error that is a constant, so the package's errors cannot be replaced
// at run time; errors.Is compares them by value.
type sentinel string

func (e sentinel) Error() string { return string(e) }
