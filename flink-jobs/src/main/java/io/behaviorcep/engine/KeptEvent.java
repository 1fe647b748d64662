package io.behaviorcep.engine;

import io.behaviorcep.event.BehaviorEvent;

/**
 * The event being processed and what a run keeps of it ({@link EventProjection}), projected once on
 * the first bind whatever the number of patterns and runs that bind it: the engine's state stores
 * each event once, by identity.
 */
final class KeptEvent {
    private EventProjection projection = EventProjection.EVERYTHING;
    private BehaviorEvent event;
    private BehaviorEvent kept;

    /** Starts on a new event, with the projection of the pattern versions now known. */
    KeptEvent of(BehaviorEvent event, EventProjection projection) {
        this.event = event;
        this.projection = projection;
        this.kept = null;
        return this;
    }

    BehaviorEvent kept() {
        if (kept == null) kept = projection.apply(event);
        return kept;
    }
}
