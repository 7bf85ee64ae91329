#pragma once

namespace twine {

/// Something that produces data for a Consumer, as Twisted's IPushProducer /
/// IPullProducer. A push ("streaming") producer writes on its own and is told
/// to pause when the consumer's buffer is full and to resume when it drains.
/// A pull producer writes one chunk each time resumeProducing is called.
class Producer {
public:
    virtual ~Producer() = default;
    /// Stop writing until resumeProducing (push producers: the consumer is full).
    virtual void pauseProducing() = 0;
    /// Write again (push), or write the next chunk (pull).
    virtual void resumeProducing() = 0;
    /// Stops for good: the consumer is going away.
    virtual void stopProducing() = 0;
};

}  // namespace twine
