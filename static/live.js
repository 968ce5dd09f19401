// Live updates for the tracking page (filled in with the live hub).
