package search

import (
	"errors"

	"github.com/recotem/recotem/internal/failure"
)

func trainingErr(code, msg string) error {
	return failure.New(failure.Training, code, "%s", msg)
}

// searchErr classifies err as a Training "search_error" unless it already
// carries a class.
func searchErr(err error) error {
	var fe *failure.Error
	if errors.As(err, &fe) {
		return err
	}
	return failure.Wrap(failure.Training, "search_error", err)
}
