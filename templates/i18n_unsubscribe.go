package templates

import "strings"

// unsubscribeMessages are the unsubscribe page's words, by language.
// {store} is the retailer's name.
var unsubscribeMessages = map[Lang]map[string]string{
	English: {
		"unsub.title":             "Unsubscribe",
		"unsub.ask.email":         "Stop shipping updates by email?",
		"unsub.ask.sms":           "Stop shipping updates by text message?",
		"unsub.body.email":        "You will no longer receive emails from {store} about your orders' deliveries at this address.",
		"unsub.body.sms":          "You will no longer receive text messages from {store} about your orders' deliveries at this number.",
		"unsub.keep":              "You can still follow your orders on their tracking pages.",
		"unsub.button":            "Unsubscribe",
		"unsub.done.title":        "You're unsubscribed",
		"unsub.done.email":        "We won't email you shipping updates any more. A message already on its way may still arrive.",
		"unsub.done.sms":          "We won't text you shipping updates any more. To get them again, reply START to one of our text messages.",
		"unsub.invalid.title":     "Unsubscribe link not valid",
		"unsub.invalid.body":      "We couldn't recognise this link. Please check that you opened the complete link from your email or text message.",
		"unsub.error.retry":       "We couldn't confirm your request. Please press Unsubscribe again.",
		"unsub.error.limited":     "Too many attempts. Please wait a few minutes and try again.",
		"unsub.error.unavailable": "We couldn't unsubscribe you just now. Please try again in a moment.",
	},
	Spanish: {
		"unsub.title":             "Darse de baja",
		"unsub.ask.email":         "¿Dejar de recibir avisos de envío por correo electrónico?",
		"unsub.ask.sms":           "¿Dejar de recibir avisos de envío por SMS?",
		"unsub.body.email":        "Ya no recibirás en esta dirección correos de {store} sobre la entrega de tus pedidos.",
		"unsub.body.sms":          "Ya no recibirás en este número SMS de {store} sobre la entrega de tus pedidos.",
		"unsub.keep":              "Podrás seguir tus pedidos en sus páginas de seguimiento.",
		"unsub.button":            "Darme de baja",
		"unsub.done.title":        "Te has dado de baja",
		"unsub.done.email":        "Ya no te enviaremos avisos de envío por correo electrónico. Es posible que aún llegue algún mensaje que ya estaba en camino.",
		"unsub.done.sms":          "Ya no te enviaremos avisos de envío por SMS. Para volver a recibirlos, responde START a uno de nuestros SMS.",
		"unsub.invalid.title":     "Enlace de baja no válido",
		"unsub.invalid.body":      "No hemos reconocido este enlace. Comprueba que has abierto el enlace completo de tu correo o SMS.",
		"unsub.error.retry":       "No hemos podido confirmar tu solicitud. Pulsa de nuevo «Darme de baja».",
		"unsub.error.limited":     "Demasiados intentos. Espera unos minutos y vuelve a intentarlo.",
		"unsub.error.unavailable": "No hemos podido darte de baja en este momento. Inténtalo de nuevo en unos instantes.",
	},
	French: {
		"unsub.title":             "Se désabonner",
		"unsub.ask.email":         "Ne plus recevoir les informations de livraison par e-mail ?",
		"unsub.ask.sms":           "Ne plus recevoir les informations de livraison par SMS ?",
		"unsub.body.email":        "Vous ne recevrez plus à cette adresse d'e-mails de {store} sur la livraison de vos commandes.",
		"unsub.body.sms":          "Vous ne recevrez plus à ce numéro de SMS de {store} sur la livraison de vos commandes.",
		"unsub.keep":              "Vous pourrez toujours suivre vos commandes sur leurs pages de suivi.",
		"unsub.button":            "Me désabonner",
		"unsub.done.title":        "Votre désabonnement est confirmé",
		"unsub.done.email":        "Nous ne vous enverrons plus d'informations de livraison par e-mail. Un message déjà en route peut encore arriver.",
		"unsub.done.sms":          "Nous ne vous enverrons plus d'informations de livraison par SMS. Pour les recevoir à nouveau, répondez START à l'un de nos SMS.",
		"unsub.invalid.title":     "Lien de désabonnement non valide",
		"unsub.invalid.body":      "Nous n'avons pas reconnu ce lien. Vérifiez que vous avez ouvert le lien complet de votre e-mail ou SMS.",
		"unsub.error.retry":       "Nous n'avons pas pu confirmer votre demande. Appuyez à nouveau sur « Me désabonner ».",
		"unsub.error.limited":     "Trop de tentatives. Veuillez patienter quelques minutes avant de réessayer.",
		"unsub.error.unavailable": "Nous n'avons pas pu vous désabonner pour le moment. Veuillez réessayer dans un instant.",
	},
	German: {
		"unsub.title":             "Abmelden",
		"unsub.ask.email":         "Keine Versandinformationen mehr per E-Mail?",
		"unsub.ask.sms":           "Keine Versandinformationen mehr per SMS?",
		"unsub.body.email":        "Sie erhalten an diese Adresse keine E-Mails von {store} mehr zur Zustellung Ihrer Bestellungen.",
		"unsub.body.sms":          "Sie erhalten an diese Nummer keine SMS von {store} mehr zur Zustellung Ihrer Bestellungen.",
		"unsub.keep":              "Ihre Bestellungen können Sie weiterhin auf den Seiten zur Sendungsverfolgung verfolgen.",
		"unsub.button":            "Abmelden",
		"unsub.done.title":        "Sie sind abgemeldet",
		"unsub.done.email":        "Wir senden Ihnen keine Versandinformationen mehr per E-Mail. Eine bereits verschickte Nachricht kann noch ankommen.",
		"unsub.done.sms":          "Wir senden Ihnen keine Versandinformationen mehr per SMS. Um sie wieder zu erhalten, antworten Sie START auf eine unserer SMS.",
		"unsub.invalid.title":     "Abmeldelink ungültig",
		"unsub.invalid.body":      "Wir konnten diesen Link nicht erkennen. Bitte prüfen Sie, ob Sie den vollständigen Link aus Ihrer E-Mail oder SMS geöffnet haben.",
		"unsub.error.retry":       "Wir konnten Ihre Anfrage nicht bestätigen. Bitte klicken Sie erneut auf „Abmelden“.",
		"unsub.error.limited":     "Zu viele Versuche. Bitte warten Sie einige Minuten und versuchen Sie es dann erneut.",
		"unsub.error.unavailable": "Wir konnten Sie gerade nicht abmelden. Bitte versuchen Sie es gleich noch einmal.",
	},
}

// unsubT returns the unsubscribe page's message key in l, falling back to
// English, then to the key itself, with each {name} replaced: pairs are
// name, value, name, value... It is separate from Lang.T, whose catalogues
// are the tracking page's and the lookup form's.
func unsubT(l Lang, key string, pairs ...string) string {
	m, ok := unsubscribeMessages[l][key]
	if !ok {
		m, ok = unsubscribeMessages[English][key]
	}
	if !ok {
		return key
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		m = strings.ReplaceAll(m, "{"+pairs[i]+"}", pairs[i+1])
	}
	return m
}
