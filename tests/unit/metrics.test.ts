describe('metrics (CloudWatch Embedded Metric Format)', () => {
  function loadWith(disabled: string) {
    process.env.POWERTOOLS_METRICS_DISABLED = disabled;
    let emit!: typeof import('../../lib/observability').emitMetric;
    jest.isolateModules(() => {
      emit = (require('../../lib/observability') as typeof import('../../lib/observability')).emitMetric;
    });
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    return emit;
  }
  function written(fn: () => void): string[] {
    const lines: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => lines.push(String(chunk)) > 0);
    try {
      fn();
    } finally {
      spy.mockRestore();
    }
    return lines;
  }

  it('writes one self-contained EMF line per metric, with the service dimension and the given ones', () => {
    const emit = loadWith('false');
    const [line] = written(() => emit('ClickRefused', { reason: 'bad_token' }));
    expect(line!.endsWith('\n')).toBe(true);
    const record = JSON.parse(line!);
    expect(record).toEqual({
      _aws: {
        Timestamp: expect.any(Number),
        CloudWatchMetrics: [{ Namespace: 'FlashdutyActions', Dimensions: [['service', 'reason']], Metrics: [{ Name: 'ClickRefused', Unit: 'Count' }] }],
      },
      service: 'flashduty-actions',
      reason: 'bad_token',
      ClickRefused: 1,
    });
  });

  it('carries the value and unit it is given', () => {
    const emit = loadWith('false');
    const [line] = written(() => emit('ActionDuration', { action: 'echo' }, 12.5, 'Milliseconds'));
    const record = JSON.parse(line!);
    expect(record.ActionDuration).toBe(12.5);
    expect(record._aws.CloudWatchMetrics[0].Metrics).toEqual([{ Name: 'ActionDuration', Unit: 'Milliseconds' }]);
  });

  it('writes nothing when POWERTOOLS_METRICS_DISABLED is true', () => {
    const emit = loadWith('true');
    expect(written(() => emit('ClickAccepted', { action: 'echo' }))).toEqual([]);
  });
});
