namespace Virt.Devices;

/// <summary>Options of a <see cref="Uart16550"/>: where it sits and how it paces characters.</summary>
public sealed record UartOptions
{
    /// <summary>The device name for messages, for example <c>"COM1"</c>.</summary>
    public string Name { get; init; } = "COM1";

    /// <summary>The first of its eight ports (COM1 3F8h, COM2 2F8h, COM3 3E8h, COM4 2E8h).</summary>
    public ushort BasePort { get; init; } = 0x3F8;

    /// <summary>The ISA IRQ the board connects the injected interrupt line to (COM1/COM3 4, COM2/COM4 3). The UART itself only drives its line.</summary>
    public int Irq { get; init; } = 4;

    /// <summary>How transmitted characters leave: <see cref="UartPacing.Instant"/> (default) or at the baud rate.</summary>
    public UartPacing TransmitPacing { get; init; } = UartPacing.Instant;

    /// <summary>How received characters arrive: <see cref="UartPacing.Instant"/> (default, as many as fit the FIFO) or one per character time.</summary>
    public UartPacing ReceivePacing { get; init; } = UartPacing.Instant;

    /// <summary>
    /// How often, in guest nanoseconds, the UART polls the host for input while the guest waits for a
    /// received-data interrupt, and retries output the host refused (default 1 ms).
    /// </summary>
    public long PollIntervalNanoseconds { get; init; } = 1_000_000;

    /// <summary>
    /// Whether the interrupt line is driven only while MCR OUT2 is set, as on PC boards where OUT2 enables the
    /// IRQ driver (default true). In loopback mode OUT2 keeps gating the line, as under QEMU and Bochs, so a
    /// looped-back byte raises the IRQ when OUT2 is set (the PC16550D datasheet would force OUT2 inactive).
    /// </summary>
    public bool InterruptRequiresOut2 { get; init; } = true;

    /// <summary>COM1: 3F8h, IRQ 4.</summary>
    public static UartOptions Com1 => new() { Name = "COM1", BasePort = 0x3F8, Irq = 4 };

    /// <summary>COM2: 2F8h, IRQ 3.</summary>
    public static UartOptions Com2 => new() { Name = "COM2", BasePort = 0x2F8, Irq = 3 };

    /// <summary>COM3: 3E8h, IRQ 4.</summary>
    public static UartOptions Com3 => new() { Name = "COM3", BasePort = 0x3E8, Irq = 4 };

    /// <summary>COM4: 2E8h, IRQ 3.</summary>
    public static UartOptions Com4 => new() { Name = "COM4", BasePort = 0x2E8, Irq = 3 };
}
