namespace Virt.Devices;

/// <summary>How fast a <see cref="Uart16550"/> moves characters between its FIFOs and the host.</summary>
public enum UartPacing
{
    /// <summary>As fast as the host takes and gives them (test harnesses, fast boots). The default.</summary>
    Instant,

    /// <summary>One character per character time at the programmed baud rate and frame format, on the virtual clock.</summary>
    BaudRate,
}
