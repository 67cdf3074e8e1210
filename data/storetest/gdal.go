package storetest

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// This file holds the GDAL checks of a GeoPackage file that the store's
// tests and the binary's tests share: GDAL must read what wangge writes.

// NeedTool returns the path of the program name, or skips the test (fails
// it when CI is set) saying which Debian package pkg provides it.
func NeedTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		msg := name + " not found: install " + pkg + " (scripts/deps.sh does)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// gpkgValidator returns the command that runs GDAL's GeoPackage validator
// (validate_gpkg.py, in Debian's python3-gdal), or nil when it is missing.
func gpkgValidator() []string {
	script, err := exec.LookPath("validate_gpkg.py")
	if err != nil {
		script = ""
		for _, p := range []string{
			"/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py",
			"/usr/share/doc/python3-gdal/examples/validate_gpkg.py",
		} {
			if _, err := os.Stat(p); err == nil {
				script = p
				break
			}
		}
	}
	python := "/usr/bin/python3" // Debian's, which has the osgeo module beside the script
	if _, err := os.Stat(python); err != nil {
		python, _ = exec.LookPath("python3")
	}
	if script == "" || python == "" {
		return nil
	}
	return []string{python, script}
}

// ValidateGPKG opens the GeoPackage at path with ogrinfo, which must not
// complain, and runs GDAL's GeoPackage validator on it, which must pass.
// Without ogrinfo the test is skipped. Without the validator it logs so and
// returns false, leaving the caller to skip the test or go on; both fail
// the test when CI is set.
func ValidateGPKG(t testing.TB, path string) bool {
	t.Helper()
	ogrinfo := NeedTool(t, "ogrinfo", "gdal-bin")
	out, err := exec.Command(ogrinfo, "-ro", "-al", "-so", path).CombinedOutput()
	if err != nil || bytes.Contains(out, []byte("ERROR")) || bytes.Contains(out, []byte("Warning")) {
		t.Errorf("ogrinfo %s complained: %v\n%s", path, err, out)
	}
	v := gpkgValidator()
	if v == nil {
		const msg = "validate_gpkg.py or python3 not found, the file is not validated: install Debian python3-gdal (scripts/deps.sh does)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Log(msg)
		return false
	}
	out, err = exec.Command(v[0], append(v[1:], "-k", path)...).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("validate_gpkg.py %s: %v\n%s", path, err, out)
	}
	return true
}
