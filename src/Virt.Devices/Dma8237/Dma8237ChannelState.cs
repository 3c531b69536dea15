namespace Virt.Devices;

/// <summary>The saved registers of one 8237 channel.</summary>
/// <param name="BaseAddress">The base address register (reloaded into the current address by auto-initialisation).</param>
/// <param name="BaseCount">The base count register (transfers minus one).</param>
/// <param name="CurrentAddress">The current address register.</param>
/// <param name="CurrentCount">The current count register.</param>
/// <param name="Mode">The mode register (bits 7-2; bits 1-0 are the channel number).</param>
/// <param name="RequestLine">The DREQ level the device drives.</param>
public sealed record Dma8237ChannelState(ushort BaseAddress, ushort BaseCount, ushort CurrentAddress, ushort CurrentCount, byte Mode, bool RequestLine);
