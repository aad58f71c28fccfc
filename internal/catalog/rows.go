package catalog

import (
	"database/sql"
	"errors"
)

// scanAll reads every row of rows with scan and closes rows, whatever
// happens: the one loop of the catalog's list queries.
func scanAll[T any](rows *sql.Rows, scan func(*sql.Rows) (T, error)) ([]T, error) {
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, errors.Join(err, rows.Close())
		}
		out = append(out, v)
	}
	return out, errors.Join(rows.Err(), rows.Close())
}

// affectedOne tells whether an UPDATE or DELETE changed exactly one row:
// the test of every compare-and-set in the catalog.
func affectedOne(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
