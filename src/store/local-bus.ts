// Publish/subscribe within one process: what the memory and embedded stores offer (a single
// node has no other instance to tell).
import { EventEmitter } from 'node:events';

export class LocalBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  async publish(channel: string, message: string): Promise<void> {
    this.emitter.emit(channel, message);
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>> {
    this.emitter.on(channel, handler);
    return async () => {
      this.emitter.off(channel, handler);
    };
  }

  close(): void {
    this.emitter.removeAllListeners();
  }
}
