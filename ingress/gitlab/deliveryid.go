package gitlab

import "net/http"

// DeliveryIDHeaders are the headers Parse takes a delivery's ID from, in
// order (see the package documentation).
var DeliveryIDHeaders = []string{headerIdempotency, "webhook-id", headerEventUUID, headerWebhookUUID}

// DeliveryID is the delivery ID Parse gives a delivery sent with header,
// or "" when Parse would fall back to the body's digest. Recover applies
// it to the headers GitLab records for each hook event, so that it looks
// the event up in the journal under the ID the ingress gave it.
func DeliveryID(header http.Header) string {
	for _, n := range DeliveryIDHeaders {
		if v := header.Get(n); v != "" {
			return v
		}
	}
	return ""
}
