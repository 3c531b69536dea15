using Microsoft.Extensions.Logging;
using Virt.Devices;
using Virt.Memory;

namespace Virt.Machine;

/// <summary>
/// What a custom device gets from the machine it is added to: the virtual clock, interrupt lines, guest memory
/// for DMA, the platform control (A20, reset, exit) and logging. Handed to the factories given to
/// <see cref="MachineBuilder.AddPortDevice"/>, <see cref="MachineBuilder.AddMmioDevice"/> and <see cref="MachineBuilder.AddDevice"/>.
/// </summary>
public sealed class MachineDeviceContext
{
    private readonly Pic8259Pair _pic;

    internal MachineDeviceContext(IVirtualClock clock, Pic8259Pair pic, IGuestMemory memory, IPlatformControl platform, ILoggerFactory loggerFactory)
    {
        Clock = clock;
        _pic = pic;
        Memory = memory;
        Platform = platform;
        LoggerFactory = loggerFactory;
    }

    /// <summary>The machine's virtual clock: schedule work with timers.</summary>
    public IVirtualClock Clock { get; }

    /// <summary>Guest physical memory for DMA (usable once the machine is built, that is from the device's first access on).</summary>
    public IGuestMemory Memory { get; }

    /// <summary>A20, reset and exit requests.</summary>
    public IPlatformControl Platform { get; }

    /// <summary>The machine's logger factory.</summary>
    public ILoggerFactory LoggerFactory { get; }

    /// <summary>Creates an interrupt line into ISA IRQ <paramref name="irq"/> of the interrupt controller (shareable).</summary>
    /// <param name="irq">0 to 15.</param>
    /// <param name="owner">The device's name, for logs.</param>
    /// <returns>The line.</returns>
    public IInterruptLine CreateInterruptLine(int irq, string owner)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(irq);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(irq, 15);
        return _pic.CreateInputLine(irq, owner);
    }
}
