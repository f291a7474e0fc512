// coreos-cloudinit-validate: runs coreos-cloudinit's own validator (config/validate, the
// code behind `coreos-cloudinit --validate`) on a user-data file. coreos-cloudinit's
// full binary no longer builds from the module proxy; this package does.
//
// Usage: coreos-cloudinit-validate FILE. Prints every report entry as JSON, one a line;
// exits 1 when any entry is an error or a warning, 2 when the file cannot be read or
// the validator fails.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/coreos/coreos-cloudinit/config/validate"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: coreos-cloudinit-validate FILE")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	report, err := validate.Validate(data)
	if err != nil {
		fmt.Fprintln(os.Stderr, "validating:", err)
		os.Exit(2)
	}
	failed := false
	for _, entry := range report.Entries() {
		line, _ := json.Marshal(entry)
		fmt.Println(string(line))
		var decoded struct{ Kind string }
		_ = json.Unmarshal(line, &decoded)
		if decoded.Kind != "info" {
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}
