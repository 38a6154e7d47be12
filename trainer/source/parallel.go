package source

// ParallelSink is a Sink that can also take rows from several goroutines at
// once. A source that can cut its input into independent chunks of
// consecutive rows (a CSV without quote characters, a parquet row group)
// feeds each chunk through Chunk instead of calling Row; a source uses one
// of the two for a whole Fetch, never both.
//
// Contract for a source using Chunk:
//   - chunk seq numbers are 0, 1, 2, … in source order, and the rows of all
//     chunks in seq order are the source's rows;
//   - worker w (0 ≤ w < GOMAXPROCS) is one goroutine at a time: it calls
//     Chunk(w, seq) and feeds that chunk completely, in row order, before
//     it calls Chunk for its next one; different workers run at the same
//     time;
//   - a Row error stops the fetch: Fetch returns the error of the lowest
//     failing seq, and only after every chunk with a lower seq has been fed
//     completely (so the sink can count the rows before the failing one).
type ParallelSink interface {
	Sink
	// Chunk returns the Sink that receives chunk seq's rows on worker w.
	Chunk(w, seq int) Sink
}
