package kiosk

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"

	"github.com/pharmachain/counter/assets"
)

// Translation files under assets/data/translations.
const (
	TranslationsDir = "translations"
	fileZh          = TranslationsDir + "/zh_Hans.json"
	fileEn          = TranslationsDir + "/en.json"
)

// Locale is the UI language: "zh" (default) or "en".
type Locale string

// UI languages.
const (
	LocaleZh Locale = "zh"
	LocaleEn Locale = "en"
)

// DetectLocale picks the UI language from the environment the way POSIX does
// (LC_ALL, then LC_MESSAGES, then LANG; LANGUAGE as a last resort): English only if the
// locale says en*, Chinese (the default) for everything else, including C/POSIX.
func DetectLocale(getenv func(string) string) Locale {
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"} {
		v := strings.ToLower(strings.TrimSpace(getenv(k)))
		if v == "" {
			continue
		}
		if strings.HasPrefix(v, "en") {
			return LocaleEn
		}
		if v == "c" || v == "posix" || strings.HasPrefix(v, "c.") {
			continue
		}
		return LocaleZh
	}
	return LocaleZh
}

// SetupTranslations loads the bundled translations into fyne's lang package. Fyne falls
// back to its first language ("en") for a locale it does not know (C, POSIX, unset), so
// for every locale other than English the Chinese file is registered for "en" as well:
// Chinese is the default, English is used only when the locale asks for it.
func SetupTranslations(l Locale) error {
	zh, err := assets.Read(fileZh)
	if err != nil {
		return fmt.Errorf("translations: %w", err)
	}
	if err := lang.AddTranslationsForLocale(zh, fyne.Locale("zh-Hans")); err != nil {
		return fmt.Errorf("translations %s: %w", fileZh, err)
	}
	en := zh
	if l == LocaleEn {
		if en, err = assets.Read(fileEn); err != nil {
			return fmt.Errorf("translations: %w", err)
		}
	}
	if err := lang.AddTranslationsForLocale(en, fyne.Locale("en")); err != nil {
		return fmt.Errorf("translations en: %w", err)
	}
	return nil
}
