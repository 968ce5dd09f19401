package templates

import (
	"time"

	"github.com/trackd/trackd/notify"
)

// sampleEvent is a carrier scan for a sample shipment in a status.
type sampleEvent struct {
	message  map[string]string // by locale
	location string
	at       time.Time
}

var (
	pacific = time.FixedZone("PST", -8*3600)
	central = time.FixedZone("CST", -6*3600)
)

// sampleEvents are realistic latest scans, by tracking status.
var sampleEvents = map[string]sampleEvent{
	"info_received": {map[string]string{
		"en": "Shipper created a label; UPS has not received the package yet",
		"es": "El remitente creó la etiqueta; UPS aún no ha recibido el paquete",
		"fr": "L’expéditeur a créé l’étiquette ; UPS n’a pas encore reçu le colis",
		"de": "Der Versender hat ein Etikett erstellt; UPS hat das Paket noch nicht erhalten",
	}, "Reno, NV, US", time.Date(2026, 11, 24, 17, 42, 0, 0, pacific)},
	"in_transit": {map[string]string{
		"en": "Departed from facility",
		"es": "Salió de la instalación",
		"fr": "A quitté le centre de tri",
		"de": "Hat das Verteilzentrum verlassen",
	}, "Louisville, KY, US", time.Date(2026, 11, 25, 4, 10, 0, 0, central)},
	"out_for_delivery": {map[string]string{
		"en": "Out for delivery today",
		"es": "En reparto hoy",
		"fr": "En cours de livraison aujourd’hui",
		"de": "Heute in Zustellung",
	}, "Portland, OR, US", time.Date(2026, 11, 27, 8, 15, 0, 0, pacific)},
	"failed_attempt": {map[string]string{
		"en": "Delivery attempted; no one was available to sign",
		"es": "Intento de entrega; no había nadie para firmar",
		"fr": "Tentative de livraison ; personne n’était là pour signer",
		"de": "Zustellversuch; niemand war zum Unterschreiben anwesend",
	}, "Portland, OR, US", time.Date(2026, 11, 27, 13, 5, 0, 0, pacific)},
	"available_for_pickup": {map[string]string{
		"en": "Ready for pickup at UPS Access Point: Hawthorne Corner Market, 1520 SE Hawthorne Blvd",
		"es": "Listo para recoger en UPS Access Point: Hawthorne Corner Market, 1520 SE Hawthorne Blvd",
		"fr": "Disponible au point relais UPS Access Point : Hawthorne Corner Market, 1520 SE Hawthorne Blvd",
		"de": "Abholbereit im UPS Access Point: Hawthorne Corner Market, 1520 SE Hawthorne Blvd",
	}, "Portland, OR, US", time.Date(2026, 11, 27, 15, 20, 0, 0, pacific)},
	"delivered": {map[string]string{
		"en": "Delivered: front door",
		"es": "Entregado: puerta principal",
		"fr": "Livré : porte d’entrée",
		"de": "Zugestellt: Haustür",
	}, "Portland, OR, US", time.Date(2026, 11, 27, 14, 32, 0, 0, pacific)},
	"exception": {map[string]string{
		"en": "The address is incomplete; UPS is trying to get the correct address",
		"es": "La dirección está incompleta; UPS intenta obtener la dirección correcta",
		"fr": "L’adresse est incomplète ; UPS cherche à obtenir la bonne adresse",
		"de": "Die Adresse ist unvollständig; UPS versucht, die richtige Adresse zu erhalten",
	}, "Portland, OR, US", time.Date(2026, 11, 26, 19, 48, 0, 0, pacific)},
	"returning": {map[string]string{
		"en": "Returning to sender at the shipper’s request",
		"es": "Devolución al remitente a petición del remitente",
		"fr": "Retour à l’expéditeur à sa demande",
		"de": "Rücksendung an den Absender auf dessen Wunsch",
	}, "Portland, OR, US", time.Date(2026, 11, 28, 9, 30, 0, 0, pacific)},
	"returned": {map[string]string{
		"en": "Delivered to sender",
		"es": "Entregado al remitente",
		"fr": "Livré à l’expéditeur",
		"de": "An den Absender zugestellt",
	}, "Reno, NV, US", time.Date(2026, 12, 2, 11, 0, 0, 0, pacific)},
	"delayed": {map[string]string{
		"en": "Delayed by severe weather; we’re adjusting delivery plans as quickly as possible",
		"es": "Retrasado por mal tiempo; estamos ajustando la entrega lo antes posible",
		"fr": "Retardé par des intempéries ; nous adaptons la livraison au plus vite",
		"de": "Verspätung wegen Unwetter; wir passen die Zustellung so schnell wie möglich an",
	}, "Salt Lake City, UT, US", time.Date(2026, 11, 26, 6, 40, 0, 0, time.FixedZone("MST", -7*3600))},
}

var sampleItems = map[string][3]string{
	"en": {"Merino wool sweater", "Trail running shoes", "Cotton socks, 3 pack"},
	"es": {"Jersey de lana merino", "Zapatillas de trail", "Calcetines de algodón, pack de 3"},
	"fr": {"Pull en laine mérinos", "Chaussures de trail", "Chaussettes en coton, lot de 3"},
	"de": {"Merinowollpullover", "Trailrunning-Schuhe", "Baumwollsocken, 3er-Pack"},
}

var sampleNames = map[string]string{"en": "Alex", "es": "Lucía", "fr": "Camille", "de": "Jonas"}

// SampleData is a realistic order for previews and test sends, written in
// locale: a shipment in status (a tracking status such as
// "out_for_delivery"; unknown ones read as in transit), delayed or not,
// one package of two when split. It is fixed, so previews are stable.
func SampleData(locale, status string, delayed, split bool) Data {
	l := baseLocale(locale)
	if status == "" {
		status = "in_transit"
	}
	ev, ok := sampleEvents[status]
	if !ok {
		ev = sampleEvents["in_transit"]
	}
	eta := "2026-11-27"
	if delayed {
		ev, eta = sampleEvents["delayed"], "2026-11-30"
	}
	items := sampleItems[l]
	count := 1
	if split {
		count = 2
	}
	const page = "https://track.example.com/t/4fJ9xQ2mZp7Lw3Rv"
	return Data{
		Store: StoreInfo{Name: "Northwind Outfitters", URL: "https://shop.example.com", SupportEmail: "help@shop.example.com"},
		Order: Order{
			Number: "NW-10482",
			Items: []Item{
				{Name: items[0], SKU: "SW-MER-M-NAVY", Quantity: 1},
				{Name: items[1], SKU: "SH-TRL-42", Quantity: 1},
				{Name: items[2], SKU: "SK-COT-3P", Quantity: 2},
			},
			TrackingURL:   page,
			ShipmentCount: count,
		},
		Customer: Customer{FirstName: sampleNames[l]},
		Shipment: Shipment{
			Carrier: "ups", CarrierName: "UPS", TrackingNumber: "1Z999AA10123456784",
			Status:            status,
			EstimatedDelivery: eta,
			Delayed:           delayed,
			LatestEvent:       Event{Message: ev.message[l], Location: ev.location, At: ev.at},
			TrackingURL:       page,
		},
		UnsubscribeURL: "https://track.example.com/u/4fJ9xQ2mZp7Lw3Rv.Jx2k9",
	}.Localized(l)
}

// SampleForTrigger is SampleData in the situation trigger is about.
func SampleForTrigger(locale string, trigger notify.Trigger) Data {
	status, delayed, split := string(trigger), false, false
	switch trigger {
	case notify.Shipped:
		status = "info_received"
	case notify.Delayed:
		status, delayed = "in_transit", true
	case notify.ArrivingSoon:
		status = "in_transit"
	case notify.AllDelivered:
		status, split = "delivered", true
	}
	return SampleData(locale, status, delayed, split)
}
