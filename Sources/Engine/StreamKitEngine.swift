// The StreamKitEngine module. See docs/ and the issue tracker for its scope.
