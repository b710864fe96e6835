// The StreamKitClient module. See docs/ and the issue tracker for its scope.
