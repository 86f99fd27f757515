#!/usr/bin/env bash
# Throughput of the aggregation job on a MiniCluster (parallelism 2) vs a plain Java loop over the
# same generated dataset. Usage: ./bench.sh [events (default 5000000)] [runs (default 3)]
set -euo pipefail
cd "$(dirname "$0")"
mvn -B -q test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test
exec java -Xms6g -Xmx6g -XX:+UseParallelGC \
  -Dlog4j2.configurationFile=src/test/resources/log4j2-test.properties -Dlog4j.rootLogger.level=ERROR \
  -cp "target/classes:target/test-classes:$(cat target/bench.classpath)" \
  com.acme.pipeline.flink.bench.BenchmarkMain "$@"
