package main

import (
	"context"
	"fmt"

	"github.com/jms-bastion/jms/store"
)

// assetView is an asset with the facts the account automation learnt
// about it, for asset show.
type assetView struct {
	store.Asset `yaml:",inline"`
	Facts       *store.AssetFacts `json:"facts,omitempty" yaml:"facts,omitempty"`
}

// renderAssetWithFacts shows the asset's fields and, once a push or a
// discover detected them, its facts.
func (a *app) renderAssetWithFacts(ctx context.Context, s *store.Store, x store.Asset, fields []column[store.Asset]) error {
	v := assetView{Asset: x}
	f, ok, err := s.AssetFacts(ctx, x.ID)
	if err != nil {
		return err
	}
	if ok {
		v.Facts = &f
	}
	cols := make([]column[assetView], 0, len(fields)+1)
	for _, c := range fields {
		cols = append(cols, column[assetView]{c.name, func(v assetView) string { return c.value(v.Asset) }})
	}
	cols = append(cols, column[assetView]{"facts", func(v assetView) string {
		if v.Facts == nil {
			return "(not detected yet: jmsctl account push or discover detects them)"
		}
		fam := v.Facts.OSFamily
		if fam == "" {
			fam = "unsupported"
		}
		return fmt.Sprintf("%s %s (%s family), %s, hostname %s, detected %s", v.Facts.OSID, v.Facts.OSVersion, fam,
			v.Facts.Arch, v.Facts.Hostname, fmtTime(v.Facts.GatheredAt))
	}})
	return renderOne(a.listing(), v, cols)
}
