package gitlab

import "net/http"

// DeliveryID is the delivery ID Parse gives a delivery sent with header,
// or "" when Parse would fall back to the body's digest: Label's. Recover
// applies it to the headers GitLab records for each hook event, so that it
// looks the event up in the journal under the ID the ingress gave it.
func DeliveryID(header http.Header) string {
	return Source{}.Label(header, nil).DeliveryID
}
