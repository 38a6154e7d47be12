package registry

// TickHook lets tests inject a failing watcher tick.
var TickHook = &tickHook

// BlobState reports whether the registry's blob store is open and how
// often it was closed.
func (r *Registry) BlobState() (open bool, closes int) { return r.store.State() }
