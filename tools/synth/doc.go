// Package synth owns the synthetic interaction generator used by tests,
// benchmarks and the quickstart example: power-law (Zipf) user activity and
// item popularity, optionally with latent user/item groups (Config.Clusters)
// so that collaborative models have structure to learn, deterministic for a seed, streamed as CSV (optionally
// gzip) with columns user_id,item_id,timestamp. Memory is O(users + items),
// independent of the number of rows.
package synth
