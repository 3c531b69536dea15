namespace Virt.Devices;

/// <summary>The saved state of a <see cref="Pit8254"/>.</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="Counter0">Counter 0 (IRQ 0).</param>
/// <param name="Counter1">Counter 1 (DRAM refresh on the PC).</param>
/// <param name="Counter2">Counter 2 (speaker, gated by port 61h).</param>
public sealed record Pit8254State(int Version, Pit8254CounterState Counter0, Pit8254CounterState Counter1, Pit8254CounterState Counter2)
{
    /// <summary>The version this library writes.</summary>
    public const int CurrentVersion = 1;
}
