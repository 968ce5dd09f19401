package templates

// lookupMessages are the order lookup form's words, by language.
var lookupMessages = map[Lang]map[string]string{
	English: {"lookup.title": "Track your order"},
	Spanish: {"lookup.title": "Sigue tu pedido"},
	French:  {"lookup.title": "Suivre votre commande"},
	German:  {"lookup.title": "Bestellung verfolgen"},
}
