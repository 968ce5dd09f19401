package templates

// pageMessages are the tracking page's words, by language.
var pageMessages = map[Lang]map[string]string{
	English: {"not_found.title": "Tracking link not found"},
	Spanish: {"not_found.title": "Enlace de seguimiento no encontrado"},
	French:  {"not_found.title": "Lien de suivi introuvable"},
	German:  {"not_found.title": "Sendungsverfolgung nicht gefunden"},
}
