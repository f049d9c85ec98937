package org.medner;

/**
 * A medner call failed. {@link #status()} is the medner_status (negative, e.g.
 * -3 for MEDNER_E_IO), {@link #statusText()} its medner_status_str() ("input/output
 * error") and {@link #detail()} the medner_last_error() message of the failed call
 * (what failed, where, what was expected; never the input text).
 */
public final class MednerException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** MEDNER_E_INVALID_ARGUMENT */
    public static final int INVALID_ARGUMENT = -1;
    /** MEDNER_E_OUT_OF_MEMORY */
    public static final int OUT_OF_MEMORY = -2;
    /** MEDNER_E_IO */
    public static final int IO = -3;
    /** MEDNER_E_PARSE */
    public static final int PARSE = -4;
    /** MEDNER_E_INVALID_UTF8 */
    public static final int INVALID_UTF8 = -5;
    /** MEDNER_E_UNSUPPORTED */
    public static final int UNSUPPORTED = -6;
    /** MEDNER_E_INVALID_MODEL */
    public static final int INVALID_MODEL = -7;
    /** MEDNER_E_INVALID_CONFIG */
    public static final int INVALID_CONFIG = -8;
    /** MEDNER_E_LIMIT */
    public static final int LIMIT = -9;
    /** MEDNER_E_CANCELLED: the abort callback stopped the call (the pipeline stays usable). */
    public static final int CANCELLED = -12;

    private final int status;
    private final String statusText;
    private final String detail;

    MednerException(int status, String statusText, String detail) {
        super(statusText + ": " + detail);
        this.status = status;
        this.statusText = statusText;
        this.detail = detail;
    }

    /** The medner_status value returned by the C function. */
    public int status() {
        return status;
    }

    /** medner_status_str(status), e.g. "input/output error". */
    public String statusText() {
        return statusText;
    }

    /** medner_last_error() right after the failure. */
    public String detail() {
        return detail;
    }

    /** Unchecked as it was, or wrapped (invokeExact declares Throwable). Here, not in
     *  Native, so that it works when Native failed to initialise (no libmedner). */
    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r)
            return r;
        if (t instanceof Error e)
            throw e;
        return new IllegalStateException(t);
    }
}
