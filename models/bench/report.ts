/** The models benchmarks share the repository's benchmark output helpers. */
export * from '@edgeloop/tests/support/bench-report';
