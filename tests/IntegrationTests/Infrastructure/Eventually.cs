namespace MediaService.IntegrationTests.Infrastructure;

/// <summary>Waits for a condition with a bounded timeout, failing with the context when it never holds.</summary>
public static class Eventually
{
    public static async Task<T> HoldsAsync<T>(Func<Task<T>> probe, Func<T, bool> condition, TimeSpan timeout, string what)
    {
        using var cts = new CancellationTokenSource(timeout);
        T last = default!;
        while (!cts.IsCancellationRequested)
        {
            last = await probe();
            if (condition(last))
            {
                return last;
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), cts.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        throw new TimeoutException($"{what} did not hold within {timeout}; last value: {last}");
    }
}
