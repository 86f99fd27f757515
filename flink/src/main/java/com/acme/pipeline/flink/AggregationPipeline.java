package com.acme.pipeline.flink;

import com.acme.pipeline.flink.model.CustomerWindowCount;
import com.acme.pipeline.flink.model.RawEvent;
import com.acme.pipeline.flink.watermark.ShardWatermarkGenerator;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import java.time.Duration;

/**
 * The aggregation: drop-and-count malformed records, key by customer, tumbling event-time windows,
 * count per window; events later than the allowed lateness go to a side output and are counted.
 */
public final class AggregationPipeline {
    public static final OutputTag<RawEvent> LATE_EVENTS = new OutputTag<RawEvent>("late-events") {};
    public static final OutputTag<RawEvent> MALFORMED_EVENTS = new OutputTag<RawEvent>("malformed-events") {};
    /** Well-formed events more than the allowed skew ahead of processing time. */
    public static final OutputTag<RawEvent> FUTURE_EVENTS = new OutputTag<RawEvent>("future-events") {};

    /** Metric group Managed Flink exports to CloudWatch (custom metrics). */
    public static final String METRIC_GROUP = "kinesisanalytics";
    public static final String LATE_EVENTS_COUNTER = "lateEvents";
    public static final String MALFORMED_EVENTS_COUNTER = "malformedEvents";
    public static final String FUTURE_EVENTS_COUNTER = "futureEvents";

    private AggregationPipeline() {}

    /** Window settings, independent of where they came from. */
    public static final class Settings implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
        public final Duration windowSize;
        public final Duration allowedLateness;

        public Settings(Duration windowSize, Duration allowedLateness) {
            this.windowSize = windowSize;
            this.allowedLateness = allowedLateness;
        }
    }

    /** Result streams of {@link #build}. */
    public static final class Outputs {
        public final SingleOutputStreamOperator<CustomerWindowCount> aggregates;
        public final DataStream<RawEvent> lateEvents;
        public final DataStream<RawEvent> malformedEvents;

        Outputs(SingleOutputStreamOperator<CustomerWindowCount> aggregates, DataStream<RawEvent> late,
                DataStream<RawEvent> malformed) {
            this.aggregates = aggregates;
            this.lateEvents = late;
            this.malformedEvents = malformed;
        }
    }

    /**
     * Bounded out-of-orderness watermarks with idleness ({@link ShardWatermarkGenerator}). Applied at
     * the source, so each Kinesis shard (split) has its own watermark and an idle shard does not hold
     * the others back. Malformed and future markers carry no event time, never advance the watermark
     * and do not count as shard activity.
     */
    public static WatermarkStrategy<RawEvent> watermarkStrategy(Duration outOfOrderness, Duration idleness) {
        return WatermarkStrategy.<RawEvent>forGenerator(
                        ctx -> new ShardWatermarkGenerator(outOfOrderness, idleness, ctx.getInputActivityClock()))
                .withTimestampAssigner((e, recordTs) -> e.isUsable() ? e.eventTime : Long.MIN_VALUE);
    }

    /**
     * Builds the aggregation on a stream of parsed records that already carries timestamps and
     * watermarks. Counting sinks are attached to the late and malformed side outputs.
     */
    public static Outputs build(DataStream<RawEvent> events, Settings settings) {
        // split-malformed and pre-aggregate run in the source's task (same parallelism, forward): as in
        // the job, where the source has the job's parallelism. Under a source of lower parallelism
        // (a test's ordered parallelism-1 input) a rebalance would give each window subtask several
        // upstream channels, and whether an event is late would depend on which channel's watermark
        // the window operator happened to have received.
        int upstream = events.getParallelism();
        SingleOutputStreamOperator<RawEvent> valid = events
                .process(new SplitMalformed())
                .setParallelism(upstream)
                .name("split-malformed")
                .uid("split-malformed");
        DataStream<RawEvent> malformed = valid.getSideOutput(MALFORMED_EVENTS);
        DataStream<RawEvent> future = valid.getSideOutput(FUTURE_EVENTS);

        // partial counts per customer and window before the shuffle (exactness: PreAggregateOperator);
        // its output is flushed after every record, so a watermark behind few partial counts does
        // not wait in a network buffer (the window operator's watermark lags no more than per event)
        SingleOutputStreamOperator<RawEvent> folded = valid
                .transform("pre-aggregate", TypeInformation.of(RawEvent.class),
                        new PreAggregateOperator(settings.windowSize.toMillis()))
                .setParallelism(upstream)
                .name("pre-aggregate")
                .uid("pre-aggregate")
                .setBufferTimeout(0);

        SingleOutputStreamOperator<CustomerWindowCount> aggregates = folded
                .keyBy(new CustomerKey())
                .window(TumblingEventTimeWindows.of(settings.windowSize))
                .allowedLateness(settings.allowedLateness)
                .sideOutputLateData(LATE_EVENTS)
                .aggregate(new CountAggregate(), new EmitWindowCount())
                .name("window-count")
                .uid("window-count");
        DataStream<RawEvent> late = aggregates.getSideOutput(LATE_EVENTS);

        late.sinkTo(new CountingLogSink<>(LATE_EVENTS_COUNTER, "late event (beyond allowed lateness)"))
                .name("late-events").uid("late-events");
        malformed.sinkTo(new CountingLogSink<>(MALFORMED_EVENTS_COUNTER, "malformed record"))
                .name("malformed-events").uid("malformed-events");
        future.sinkTo(new CountingLogSink<>(FUTURE_EVENTS_COUNTER, "event from the future (beyond the allowed skew)"))
                .name("future-events").uid("future-events");
        return new Outputs(aggregates, late, malformed);
    }

    /** Routes future markers to {@link #FUTURE_EVENTS}, malformed ones to {@link #MALFORMED_EVENTS}. */
    public static final class SplitMalformed extends ProcessFunction<RawEvent, RawEvent> {
        private static final long serialVersionUID = 1L;

        @Override
        public void processElement(RawEvent e, Context ctx, Collector<RawEvent> out) {
            if (e.future) {
                ctx.output(FUTURE_EVENTS, e);
            } else if (e.malformed != null) {
                ctx.output(MALFORMED_EVENTS, e);
            } else {
                out.collect(e);
            }
        }
    }

    public static final class CustomerKey implements KeySelector<RawEvent, String> {
        private static final long serialVersionUID = 1L;

        @Override
        public String getKey(RawEvent e) {
            return e.customerId;
        }
    }

    /** Incremental count: the window keeps one long per key, not the events ({@link RawEvent#count} each). */
    public static final class CountAggregate implements AggregateFunction<RawEvent, Long, Long> {
        private static final long serialVersionUID = 1L;

        @Override
        public Long createAccumulator() {
            return 0L;
        }

        @Override
        public Long add(RawEvent value, Long acc) {
            return acc + value.count;
        }

        @Override
        public Long getResult(Long acc) {
            return acc;
        }

        @Override
        public Long merge(Long a, Long b) {
            return a + b;
        }
    }

    /** Adds customer and window bounds to the count. */
    public static final class EmitWindowCount
            extends ProcessWindowFunction<Long, CustomerWindowCount, String, TimeWindow> {
        private static final long serialVersionUID = 1L;

        @Override
        public void process(String customerId, Context ctx, Iterable<Long> counts,
                Collector<CustomerWindowCount> out) {
            long count = counts.iterator().next();
            TimeWindow w = ctx.window();
            out.collect(new CustomerWindowCount(customerId, w.getStart(), w.getEnd(), count));
        }
    }
}
