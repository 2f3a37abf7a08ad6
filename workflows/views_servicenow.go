package workflows

// Record is a ServiceNow record as the outbound REST message documented in
// ingress/servicenow describes it.
type Record struct {
	// Instance is the KeyHost of the instance, when the message names it
	// (instance_url).
	Instance string `json:"instance,omitempty"`
	// Table is the record's table (table, else sys_class_name):
	// "change_request", "incident".
	Table string `json:"table"`
	SysID string `json:"sys_id"`
	// Number is the record's number ("CHG0031234").
	Number string `json:"number"`
	// State and Approval are the fields' values as the message sends them:
	// the stored value ("-1") unless the template asks for the display
	// value.
	State    string `json:"state"`
	Approval string `json:"approval,omitempty"`
	// CorrelationID and CorrelationDisplay are the external system's
	// identifier for the record, when Hookflow (or another tool) set them.
	CorrelationID      string `json:"correlation_id,omitempty"`
	CorrelationDisplay string `json:"correlation_display,omitempty"`
	// Action is what changed, when the message says ("approved", "state").
	Action string `json:"action,omitempty"`
	// ModCount and UpdatedOn are the record's version: sys_mod_count and
	// sys_updated_on as sent.
	ModCount  string `json:"sys_mod_count,omitempty"`
	UpdatedOn string `json:"sys_updated_on,omitempty"`
}

// RecordOf reads the record of a ServiceNow payload. The event type is the
// table (what the ingress names it); a payload without a sys_id is an
// error, and any other source is ErrNotThisView.
func RecordOf(source, eventType string, payload []byte) (Record, error) {
	if source != SourceServiceNow {
		return Record{}, notThisView("servicenow record", source, eventType)
	}
	var p struct {
		Table              text `json:"table"`
		SysClassName       text `json:"sys_class_name"`
		SysID              text `json:"sys_id"`
		Number             text `json:"number"`
		State              text `json:"state"`
		Approval           text `json:"approval"`
		CorrelationID      text `json:"correlation_id"`
		CorrelationDisplay text `json:"correlation_display"`
		Action             text `json:"action"`
		SysModCount        text `json:"sys_mod_count"`
		SysUpdatedOn       text `json:"sys_updated_on"`
		InstanceURL        text `json:"instance_url"`
	}
	if err := decode("servicenow record", payload, &p); err != nil {
		return Record{}, err
	}
	r := Record{
		Instance: HostOfURL(string(p.InstanceURL)), Table: string(p.Table), SysID: string(p.SysID), Number: string(p.Number),
		State: string(p.State), Approval: string(p.Approval), CorrelationID: string(p.CorrelationID),
		CorrelationDisplay: string(p.CorrelationDisplay), Action: string(p.Action),
		ModCount: string(p.SysModCount), UpdatedOn: string(p.SysUpdatedOn),
	}
	if r.Table == "" {
		r.Table = string(p.SysClassName)
	}
	if r.Table == "" {
		r.Table = eventType
	}
	if r.SysID == "" {
		return Record{}, errorf("servicenow record", "servicenow %s payload has no sys_id", eventType)
	}
	return r, nil
}

// RecordOfEvent is RecordOf over ev's payload.
func RecordOfEvent(ev Event) (Record, error) {
	r, err := RecordOf(ev.Source, ev.Type, ev.Payload)
	if err != nil {
		return Record{}, err
	}
	if r.Instance == "" {
		r.Instance = ev.Key(KeyHost)
	}
	return r, nil
}
