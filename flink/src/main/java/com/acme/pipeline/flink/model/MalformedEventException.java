package com.acme.pipeline.flink.model;

/** A record that is not a usable raw event. Cheap: no stack trace. */
public class MalformedEventException extends Exception {
    private static final long serialVersionUID = 1L;

    public MalformedEventException(String reason) {
        super(reason, null, false, false);
    }
}
