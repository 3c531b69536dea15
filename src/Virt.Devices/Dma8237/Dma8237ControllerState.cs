namespace Virt.Devices;

/// <summary>The saved registers of one 8237 of the pair.</summary>
/// <param name="Command">The command register.</param>
/// <param name="TerminalCounts">Status bits 3-0: channels that reached terminal count since the status was last read.</param>
/// <param name="SoftwareRequests">The request register's bits 3-0.</param>
/// <param name="Mask">The mask register's bits 3-0.</param>
/// <param name="FlipFlopHigh">Whether the next address or count byte is the high byte.</param>
/// <param name="Temporary">The temporary register.</param>
/// <param name="Channel0">Channel 0 (4 on the slave).</param>
/// <param name="Channel1">Channel 1 (5).</param>
/// <param name="Channel2">Channel 2 (6).</param>
/// <param name="Channel3">Channel 3 (7).</param>
public sealed record Dma8237ControllerState(
    byte Command,
    byte TerminalCounts,
    byte SoftwareRequests,
    byte Mask,
    bool FlipFlopHigh,
    byte Temporary,
    Dma8237ChannelState Channel0,
    Dma8237ChannelState Channel1,
    Dma8237ChannelState Channel2,
    Dma8237ChannelState Channel3);
