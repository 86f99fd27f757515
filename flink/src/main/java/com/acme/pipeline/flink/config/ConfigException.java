package com.acme.pipeline.flink.config;

/** Invalid or missing configuration; the message names the key and what is allowed. */
public class ConfigException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public ConfigException(String message) {
        super(message);
    }
}
