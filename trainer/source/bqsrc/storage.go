//go:build !recotem_nocloud

package bqsrc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"cloud.google.com/go/bigquery"
	bqstorage "cloud.google.com/go/bigquery/storage/apiv1"
	"cloud.google.com/go/bigquery/storage/apiv1/storagepb"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/recotem/recotem/trainer/source"
)

// maxBatchBytes is the largest ReadRows message: the Storage Read API
// sends Arrow batches of up to 128 MiB.
const maxBatchBytes = 129 << 20

// streamRetries is how often one stream is reopened at its offset after
// the connection dropped (codes.Unavailable).
const streamRetries = 3

// readStorage reads the job's destination table through the Storage Read
// API: one read session of the requested columns with a single Arrow
// stream, so rows keep the query's order. It returns the rows given to
// sink, the sink's own error, and the storage error.
func (s *Source) readStorage(ctx context.Context, c *bigquery.Client, ep endpoints, job *bigquery.Job, cols []column, sink source.Sink) (int, error, error) {
	rc, err := bqstorage.NewBigQueryReadClient(ctx, ep.storage...)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %v", ErrStorageUnavailable, err)
	}
	defer rc.Close()
	full, err := c.JobFromProject(ctx, job.ProjectID(), job.ID(), job.Location())
	if err != nil {
		return 0, nil, err
	}
	cfg, err := full.Config()
	if err != nil {
		return 0, nil, err
	}
	qc, _ := cfg.(*bigquery.QueryConfig)
	if qc == nil || qc.Dst == nil {
		return 0, nil, errors.New("bigquery job has no destination table")
	}
	table, err := qc.Dst.Identifier(bigquery.StorageAPIResourceID)
	if err != nil {
		return 0, nil, err
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	sess, err := rc.CreateReadSession(ctx, &storagepb.CreateReadSessionRequest{
		Parent: "projects/" + job.ProjectID(),
		ReadSession: &storagepb.ReadSession{
			Table:       table,
			DataFormat:  storagepb.DataFormat_ARROW,
			ReadOptions: &storagepb.ReadSession_TableReadOptions{SelectedFields: names},
		},
		MaxStreamCount: 1,
	})
	if err != nil {
		return 0, nil, err
	}
	schema := sess.GetArrowSchema().GetSerializedSchema()
	if len(schema) == 0 {
		return 0, nil, errors.New("bigquery read session has no Arrow schema")
	}
	n := 0
	for _, st := range sess.GetStreams() {
		sr := &streamReader{ctx: ctx, rc: rc, stream: st.GetName(), buf: schema}
		m, sinkErr, err := readArrow(sr, cols, n, sink)
		n += m
		if sinkErr != nil || err != nil {
			if sr.err != nil {
				err = sr.err // the gRPC status, not the Arrow reader's words for it
			}
			return n, sinkErr, err
		}
	}
	return n, nil, nil
}

// readArrow decodes one stream's Arrow record batches into sink rows;
// before is the number of rows already delivered (for messages).
func readArrow(r io.Reader, cols []column, before int, sink source.Sink) (int, error, error) {
	ar, err := ipc.NewReader(r, ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return 0, nil, err
	}
	defer ar.Release()
	fields := make([]int, len(cols))
	for i, c := range cols {
		idx := ar.Schema().FieldIndices(c.name)
		if len(idx) != 1 {
			return 0, nil, fmt.Errorf("bigquery read session lacks column %q", c.name)
		}
		fields[i] = idx[0]
	}
	vals := make([]source.Value, len(cols))
	arrays := make([]arrow.Array, len(cols))
	conv := make([]func(int, *source.Value), len(cols))
	n := 0
	for ar.Next() {
		rec := ar.Record()
		for i, c := range cols {
			arrays[i] = rec.Column(fields[i])
			if conv[i], err = arrowValues(arrays[i], c.typ); err != nil {
				return n, nil, fmt.Errorf("bigquery column %q: %w", c.name, err)
			}
		}
		for row := 0; row < int(rec.NumRows()); row++ {
			for i := range cols {
				if arrays[i].IsNull(row) {
					vals[i] = source.Value{Kind: source.Null}
				} else {
					conv[i](row, &vals[i])
				}
			}
			if err := sink.Row(vals); err != nil {
				return n, err, nil
			}
			n++
		}
	}
	if err := ar.Err(); err != nil {
		return n, nil, fmt.Errorf("bigquery storage read after %d rows: %w", before+n, err)
	}
	return n, nil, nil
}

// streamReader is one read stream as the byte stream an Arrow IPC reader
// expects: the session's schema message, then each response's record
// batch message.
type streamReader struct {
	ctx     context.Context
	rc      *bqstorage.BigQueryReadClient
	stream  string
	rr      storagepb.BigQueryRead_ReadRowsClient
	offset  int64 // rows received: where a reopened stream resumes
	retries int
	buf     []byte
	err     error // the stream's gRPC error
}

func (r *streamReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if err := r.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// next receives the next response, reopening the stream at its offset
// when the connection dropped.
func (r *streamReader) next() error {
	if r.err == nil {
		r.err = r.ctx.Err() // batches may be buffered after a cancel
	}
	if r.err != nil {
		return r.err
	}
	for {
		if r.rr == nil {
			rr, err := r.rc.ReadRows(r.ctx, &storagepb.ReadRowsRequest{ReadStream: r.stream, Offset: r.offset},
				gax.WithGRPCOptions(grpc.MaxCallRecvMsgSize(maxBatchBytes)))
			if err != nil {
				r.err = err
				return err
			}
			r.rr = rr
		}
		resp, err := r.rr.Recv()
		if err == io.EOF {
			return io.EOF
		}
		if err != nil {
			if status.Code(err) == codes.Unavailable && r.retries < streamRetries && r.ctx.Err() == nil {
				r.retries++
				r.rr = nil
				select {
				case <-time.After(time.Duration(r.retries) * 100 * time.Millisecond):
					continue
				case <-r.ctx.Done():
				}
			}
			r.err = err
			return err
		}
		r.offset += resp.GetRowCount()
		r.buf = resp.GetArrowRecordBatch().GetSerializedRecordBatch()
		return nil
	}
}
