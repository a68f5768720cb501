package notify

import (
	"context"
	"fmt"
	"strings"

	"github.com/jms-bastion/jms/store"
)

// inOrg names the organization of an operation made in one other than
// the default one: its asset reads "org/asset", the jmsctl lines it
// gives carry --org, and Org holds the name. A single-org install's
// notices read as before.
func (p *Pump) inOrg(ctx context.Context, op store.Operation, n notice) (notice, error) {
	if op.OrgID == 0 || op.OrgID == store.DefaultOrgID {
		return n, nil
	}
	o, err := p.st.GetOrgByID(ctx, op.OrgID)
	if err != nil {
		return n, fmt.Errorf("operation %d: its organization: %w", op.ID, err)
	}
	n.data["Org"] = o.Name
	if a, ok := n.data["Asset"].(string); ok && a != "" {
		n.data["Asset"] = o.Name + "/" + a
	}
	for _, k := range []string{"Approve", "Reject", "Retry"} {
		if line, ok := n.data[k].(string); ok {
			n.data[k] = strings.Replace(line, "jmsctl ", "jmsctl --org "+o.Name+" ", 1)
		}
	}
	return n, nil
}
