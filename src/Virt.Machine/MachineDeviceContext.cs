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
    private readonly IsaInterruptRouting _irqs;

    internal MachineDeviceContext(IVirtualClock clock, IsaInterruptRouting irqs, IGuestMemory memory, IPlatformControl platform, ILoggerFactory loggerFactory)
    {
        Clock = clock;
        _irqs = irqs;
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

    /// <summary>
    /// Creates an interrupt line into ISA IRQ <paramref name="irq"/> (shareable): the 8259A input, and on a board with an
    /// I/O APIC (<see cref="MachineBuilder.WithApic"/>) its pin as well.
    /// </summary>
    /// <param name="irq">0 to 15, except 2 (the cascade; ISA IRQ 2 devices use 9).</param>
    /// <param name="owner">The device's name, for logs.</param>
    /// <returns>The line.</returns>
    public IInterruptLine CreateInterruptLine(int irq, string owner)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(irq);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(irq, 15);
        if (irq == 2)
        {
            throw new ArgumentOutOfRangeException(nameof(irq), irq, "IRQ 2 is the cascade from the slave PIC (use IRQ 9 for ISA IRQ 2 devices).");
        }

        return _irqs.CreateLine(irq, owner);
    }
}
