//go:build !recotem_nocloud

package bqsrc

import (
	"fmt"
	"math/big"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/recotem/recotem/trainer/source"
)

// Both readers give a BigQuery type the same source.Value:
//
//	INT64 → Int, FLOAT64 → Float, BOOL → Bool, STRING/BYTES/GEOGRAPHY/JSON → String,
//	TIMESTAMP → Time, DATE and DATETIME → Time (as UTC), TIME → String
//	"15:04:05[.nnnnnnnnn]", NUMERIC/BIGNUMERIC → String with 9/38 decimals.

const nsPerDay = int64(24 * time.Hour)

// restValue converts one value of the REST rows (as the client decoded it).
func restValue(x bigquery.Value, typ bigquery.FieldType, v *source.Value) error {
	switch x := x.(type) {
	case nil:
		*v = source.Value{Kind: source.Null}
	case int64:
		*v = source.Value{Kind: source.Int, Int: x}
	case float64:
		*v = source.Value{Kind: source.Float, Float: x}
	case bool:
		*v = source.Value{Kind: source.Bool, Int: boolInt(x)}
	case string:
		*v = source.Value{Kind: source.String, Str: []byte(x)}
	case []byte:
		*v = source.Value{Kind: source.String, Str: x}
	case time.Time:
		*v = source.Value{Kind: source.Time, Int: x.UnixNano()}
	case civil.Date:
		*v = source.Value{Kind: source.Time, Int: x.In(time.UTC).UnixNano()}
	case civil.DateTime:
		*v = source.Value{Kind: source.Time, Int: x.In(time.UTC).UnixNano()}
	case civil.Time:
		*v = source.Value{Kind: source.String, Str: []byte(x.String())}
	case *big.Rat:
		*v = source.Value{Kind: source.String, Str: []byte(decimalString(x, typ))}
	default:
		return fmt.Errorf("unsupported %s value %T", typ, x)
	}
	return nil
}

// arrowValues returns the converter of one non-null cell of a column of
// the Storage Read API's Arrow batches.
func arrowValues(a arrow.Array, typ bigquery.FieldType) (func(int, *source.Value), error) {
	switch a := a.(type) {
	case *array.Int64:
		return func(i int, v *source.Value) { *v = source.Value{Kind: source.Int, Int: a.Value(i)} }, nil
	case *array.Float64:
		return func(i int, v *source.Value) { *v = source.Value{Kind: source.Float, Float: a.Value(i)} }, nil
	case *array.Boolean:
		return func(i int, v *source.Value) { *v = source.Value{Kind: source.Bool, Int: boolInt(a.Value(i))} }, nil
	case *array.String:
		// The cells alias the batch's buffer (valid during Sink.Row).
		data, offs := a.ValueBytes(), a.ValueOffsets()
		return func(i int, v *source.Value) {
			*v = source.Value{Kind: source.String, Str: data[offs[i]-offs[0] : offs[i+1]-offs[0]]}
		}, nil
	case *array.Binary:
		return func(i int, v *source.Value) { *v = source.Value{Kind: source.String, Str: a.Value(i)} }, nil
	case *array.Timestamp: // TIMESTAMP (UTC) and DATETIME (no zone)
		unit := int64(a.DataType().(*arrow.TimestampType).Unit.Multiplier())
		return func(i int, v *source.Value) { *v = source.Value{Kind: source.Time, Int: int64(a.Value(i)) * unit} }, nil
	case *array.Date32:
		return func(i int, v *source.Value) { *v = source.Value{Kind: source.Time, Int: int64(a.Value(i)) * nsPerDay} }, nil
	case *array.Time64:
		unit := int64(a.DataType().(*arrow.Time64Type).Unit.Multiplier())
		return func(i int, v *source.Value) {
			t := civil.TimeOf(time.Unix(0, int64(a.Value(i))*unit).UTC())
			*v = source.Value{Kind: source.String, Str: []byte(t.String())}
		}, nil
	case *array.Decimal128:
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		return func(i int, v *source.Value) {
			*v = source.Value{Kind: source.String, Str: []byte(decimalString(scaled(a.Value(i).BigInt(), scale), typ))}
		}, nil
	case *array.Decimal256:
		scale := a.DataType().(*arrow.Decimal256Type).Scale
		return func(i int, v *source.Value) {
			*v = source.Value{Kind: source.String, Str: []byte(decimalString(scaled(a.Value(i).BigInt(), scale), typ))}
		}, nil
	}
	return nil, fmt.Errorf("unsupported Arrow type %s for BigQuery type %s", a.DataType(), typ)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// scaled is n / 10^scale.
func scaled(n *big.Int, scale int32) *big.Rat {
	return new(big.Rat).SetFrac(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
}

// decimalString formats NUMERIC and BIGNUMERIC as the client does.
func decimalString(r *big.Rat, typ bigquery.FieldType) string {
	if typ == bigquery.BigNumericFieldType {
		return bigquery.BigNumericString(r)
	}
	return bigquery.NumericString(r)
}
