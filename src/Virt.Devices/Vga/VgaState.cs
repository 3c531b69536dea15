namespace Virt.Devices;

/// <summary>The saved state of a <see cref="VgaAdapter"/>: video memory, the latches, every VGA and VBE register.</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="VideoMemory">The four 64 KiB planes, plane 0 first (262,144 bytes).</param>
/// <param name="MiscOutput">Miscellaneous output register.</param>
/// <param name="SequencerIndex">Sequencer address register.</param>
/// <param name="Sequencer">Sequencer registers 0-4.</param>
/// <param name="CrtcIndex">CRT controller address register.</param>
/// <param name="Crtc">CRT controller registers 00h-18h.</param>
/// <param name="GraphicsIndex">Graphics controller address register.</param>
/// <param name="Graphics">Graphics controller registers 0-8.</param>
/// <param name="AttributeIndex">Attribute controller address register (bit 5: palette address source).</param>
/// <param name="AttributeFlipFlopData">Whether the next write to 3C0h is data rather than an index.</param>
/// <param name="Attribute">Attribute controller registers 00h-14h.</param>
/// <param name="DacPixelMask">DAC pixel mask (3C6h).</param>
/// <param name="DacReadIndex">DAC read address.</param>
/// <param name="DacWriteIndex">DAC write address.</param>
/// <param name="DacComponent">Which of red, green, blue the next data access is (0-2).</param>
/// <param name="DacReadMode">Whether the DAC was last addressed for reading (3C7h).</param>
/// <param name="DacLatch">The colour components written so far for the current entry.</param>
/// <param name="DacPalette">256 entries of red, green, blue, 6 bits each.</param>
/// <param name="RetraceCounter">The input status 1 read counter that drives the retrace bits.</param>
public sealed record VgaState(
    int Version,
    byte[] VideoMemory,
    byte MiscOutput,
    byte SequencerIndex,
    byte[] Sequencer,
    byte CrtcIndex,
    byte[] Crtc,
    byte GraphicsIndex,
    byte[] Graphics,
    byte AttributeIndex,
    bool AttributeFlipFlopData,
    byte[] Attribute,
    byte DacPixelMask,
    byte DacReadIndex,
    byte DacWriteIndex,
    byte DacComponent,
    bool DacReadMode,
    byte[] DacLatch,
    byte[] DacPalette,
    int RetraceCounter)
{
    /// <summary>The version this build writes (2: latches, VBE registers and VBE video memory).</summary>
    public const int CurrentVersion = 2;

    /// <summary>The four graphics controller latches, plane 0 in bits 0-7.</summary>
    public uint Latches { get; init; }

    /// <summary>The DISPI index register.</summary>
    public ushort VbeIndex { get; init; }

    /// <summary>The DISPI registers 0-0Ah.</summary>
    public ushort[] VbeRegisters { get; init; } = [];

    /// <summary>The VBE video memory in 64 KiB chunks, null where the guest never wrote (the first four: the planes, saved in <see cref="VideoMemory"/>).</summary>
    public byte[]?[] VideoMemoryChunks { get; init; } = [];

    /// <summary>Compares every field, arrays by value.</summary>
    /// <param name="other">The other record.</param>
    /// <returns>Whether both describe the same state.</returns>
    public bool Equals(VgaState? other) =>
        other is not null && Version == other.Version && VideoMemory.AsSpan().SequenceEqual(other.VideoMemory) &&
        MiscOutput == other.MiscOutput && SequencerIndex == other.SequencerIndex && Sequencer.AsSpan().SequenceEqual(other.Sequencer) &&
        CrtcIndex == other.CrtcIndex && Crtc.AsSpan().SequenceEqual(other.Crtc) && GraphicsIndex == other.GraphicsIndex &&
        Graphics.AsSpan().SequenceEqual(other.Graphics) && AttributeIndex == other.AttributeIndex &&
        AttributeFlipFlopData == other.AttributeFlipFlopData && Attribute.AsSpan().SequenceEqual(other.Attribute) &&
        DacPixelMask == other.DacPixelMask && DacReadIndex == other.DacReadIndex && DacWriteIndex == other.DacWriteIndex &&
        DacComponent == other.DacComponent && DacReadMode == other.DacReadMode && DacLatch.AsSpan().SequenceEqual(other.DacLatch) &&
        DacPalette.AsSpan().SequenceEqual(other.DacPalette) && RetraceCounter == other.RetraceCounter &&
        Latches == other.Latches && VbeIndex == other.VbeIndex && VbeRegisters.AsSpan().SequenceEqual(other.VbeRegisters) &&
        ChunksEqual(VideoMemoryChunks, other.VideoMemoryChunks);

    /// <summary>A hash over the registers (video memory is compared, not hashed).</summary>
    /// <returns>The hash.</returns>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(MiscOutput);
        hash.AddBytes(Crtc);
        hash.AddBytes(Attribute);
        hash.AddBytes(Sequencer);
        hash.Add(Latches);
        return hash.ToHashCode();
    }

    private static bool ChunksEqual(byte[]?[] a, byte[]?[] b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }

        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] is null != b[i] is null || (a[i] is { } x && !x.AsSpan().SequenceEqual(b[i])))
            {
                return false;
            }
        }

        return true;
    }
}
