package web

import (
	"context"
	"errors"

	"github.com/trackd/trackd/tracking"
)

// publicOrder reads what the shopper's page shows of o: every shipment's
// state and history, with delayed derived now.
func (s *Server) publicOrder(ctx context.Context, o tracking.Order) (tracking.PublicOrder, error) {
	states := make(map[string]*tracking.Shipment, len(o.Shipments))
	now := s.deps.Now()
	for _, c := range o.Shipments {
		sh, err := s.deps.Store.Shipment(ctx, c.ID, true)
		if errors.Is(err, tracking.ErrNotFound) {
			continue // past its retention: shown as registered, without history
		}
		if err != nil {
			return tracking.PublicOrder{}, storeError(err)
		}
		sh.DeriveDelayed(now, s.cfg.NoScanAfter)
		states[c.ID] = sh
	}
	return tracking.NewPublicOrder(o, states), nil
}
