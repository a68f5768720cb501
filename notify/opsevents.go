package notify

import (
	"strconv"
	"strings"

	"github.com/jms-bastion/jms/store"
)

// The notices of the automation, the recording uploads and the cluster:
// all to the admins, who are the ones who can act on them.

// accountNotice tells the admins of a failed account push or rotation
// (the automation records a failure with its status and failing step in
// "result"); a success is not an event.
func accountNotice(op store.Operation, str func(string) string) notice {
	result := str("result")
	if result == "" || result == "ok" || result == "changed" {
		return notice{}
	}
	account, asset, _ := strings.Cut(op.Target, "@")
	event, verb, retry := EventPushFailed, "push", "jmsctl account push "+asset
	if op.Action == "account.rotate" {
		event, verb, retry = EventRotateFailed, "rotation", "jmsctl account rotate "+asset+" "+account
	}
	if d := str("detail"); d != "" && !strings.Contains(result, ":") {
		result += ": " + d // unreachable, auth-failed…: the reason comes apart
	}
	return notice{event: event, template: "account_failed", roles: []string{store.RoleAdmin}, data: map[string]any{
		"Action": verb, "Asset": asset, "Account": account, "Template": str("template"), "Result": result, "Retry": retry}}
}

// uploadNotice tells the admins that a node's recording uploads started
// failing, or fell behind (storage records each once per change of state).
func uploadNotice(op store.Operation, str func(string) string, detail map[string]any) notice {
	data := map[string]any{"Node": op.Target, "Store": str("store"), "Error": str("error"),
		"Waiting": str("oldest_waiting"), "SpoolBytes": num(detail["spool_bytes"])}
	if op.Action == "recording.upload.behind" {
		return notice{event: EventUploadBehind, template: "upload_behind", roles: []string{store.RoleAdmin}, data: data}
	}
	return notice{event: EventUploadFailing, template: "upload_failing", roles: []string{store.RoleAdmin}, data: data}
}

// num renders a JSON number of an operation's detail ("" when absent).
func num(v any) string {
	f, ok := v.(float64)
	if !ok {
		return ""
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}
