using Virt.Memory;

namespace Virt.Machine.Boot;

/// <summary>
/// A staging list of what a loader will write: every piece is checked (inside RAM, no overlaps)
/// before the first byte reaches guest memory, so a failed load leaves guest memory untouched.
/// </summary>
internal sealed class GuestMemoryPlan
{
    /// <summary>
    /// The buffer a streamed piece is copied through (1 MiB, one allocation per piece whatever the image size): big
    /// enough that the per-call costs of the stream and the memory map are noise.
    /// </summary>
    private const int StreamCopyBufferSizeInBytes = 1 << 20;

    private readonly List<Piece> _pieces = [];

    /// <summary>The regions the pieces occupy, by address; an empty piece (a zero-byte module file) occupies none.</summary>
    public IReadOnlyList<BootRegion> Regions => [.. _pieces.Where(p => p.SizeInBytes > 0).OrderBy(p => p.Start).Select(p => new BootRegion(p.Name, AddressRange.FromStartAndSize(new PhysicalAddress(p.Start), p.SizeInBytes)))];

    /// <summary>Writes <paramref name="data"/> at <paramref name="start"/>, then zeros up to <paramref name="sizeInBytes"/> (bss).</summary>
    public void Write(string name, ulong start, ReadOnlyMemory<byte> data, ulong sizeInBytes)
    {
        _pieces.Add(new Piece(name, start, Math.Max(sizeInBytes, (ulong)data.Length), data, Reserve: false));
    }

    public void Write(string name, ulong start, ReadOnlyMemory<byte> data) => Write(name, start, data, (ulong)data.Length);

    /// <summary>
    /// Copies <paramref name="sizeInBytes"/> bytes of <paramref name="source"/> (a seekable stream, from its start) to
    /// <paramref name="start"/> when applied, in bounded pieces: a large image never sits whole in host memory.
    /// </summary>
    public void WriteFromStream(string name, ulong start, Stream source, ulong sizeInBytes, string imageName)
    {
        _pieces.Add(new Piece(name, start, sizeInBytes, ReadOnlyMemory<byte>.Empty, Reserve: false) { Source = source, SourceName = imageName });
    }

    /// <summary>Claims a range without writing it (a stack, a kernel's decompression area).</summary>
    public void Reserve(string name, ulong start, ulong sizeInBytes)
    {
        _pieces.Add(new Piece(name, start, sizeInBytes, ReadOnlyMemory<byte>.Empty, Reserve: true));
    }

    /// <summary>
    /// Finds room for <paramref name="sizeInBytes"/> bytes at a multiple of <paramref name="alignment"/> in the RAM of
    /// <paramref name="map"/> below <paramref name="limitExclusive"/>, clear of every piece planned so far and of
    /// <paramref name="excluded"/>. The first fit at or above <paramref name="hint"/> wins; failing that, the first fit
    /// from the bottom. The caller then plans a piece there.
    /// </summary>
    /// <returns>The start address, or null when no free range is large enough.</returns>
    public ulong? FindFree(IReadOnlyList<E820Entry> map, ulong sizeInBytes, ulong alignment, ulong hint, ulong limitExclusive, IReadOnlyList<AddressRange> excluded)
    {
        ArgumentOutOfRangeException.ThrowIfZero(sizeInBytes);
        ArgumentOutOfRangeException.ThrowIfZero(limitExclusive);
        if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(alignment), $"Alignment {alignment} is not a power of two.");
        }

        // Busy ranges as [start, end) pairs, sorted; pieces may still overlap each other or leave RAM here (Validate
        // reports that later), which only makes them busy.
        List<(ulong Start, ulong End)> busy =
        [
            .. _pieces.Where(p => p.SizeInBytes > 0).Select(p => (p.Start, End: p.Start > ulong.MaxValue - p.SizeInBytes ? ulong.MaxValue : p.Start + p.SizeInBytes)),
            .. excluded.Select(r => (r.Start.Value, End: r.LastAddress.Value == ulong.MaxValue ? ulong.MaxValue : r.LastAddress.Value + 1)),
        ];
        busy.Sort();

        var gaps = new List<(ulong Start, ulong End)>();
        foreach (E820Entry ram in map.Where(e => e.Type == E820EntryType.Ram).OrderBy(e => e.Start.Value))
        {
            ulong start = ram.Start.Value;
            ulong end = Math.Min(ram.LastAddress.Value, limitExclusive - 1) + 1;
            if (start >= limitExclusive)
            {
                continue;
            }

            foreach ((ulong busyStart, ulong busyEnd) in busy)
            {
                if (busyEnd <= start || busyStart >= end)
                {
                    continue;
                }

                if (busyStart > start)
                {
                    gaps.Add((start, busyStart));
                }

                start = Math.Max(start, busyEnd);
                if (start >= end)
                {
                    break;
                }
            }

            if (start < end)
            {
                gaps.Add((start, end));
            }
        }

        return FirstFit(gaps.Where(g => g.End > hint), sizeInBytes, alignment, hint) ?? FirstFit(gaps, sizeInBytes, alignment, 0);
    }

    private static ulong? FirstFit(IEnumerable<(ulong Start, ulong End)> gaps, ulong sizeInBytes, ulong alignment, ulong floor)
    {
        foreach ((ulong start, ulong end) in gaps)
        {
            ulong from = Math.Max(start, floor);
            if (from > ulong.MaxValue - (alignment - 1))
            {
                continue;
            }

            ulong candidate = (from + alignment - 1) & ~(alignment - 1);
            if (candidate < end && end - candidate >= sizeInBytes)
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Checks every piece against the RAM of <paramref name="map"/> and against each other.</summary>
    public void Validate(IReadOnlyList<E820Entry> map, string imageName)
    {
        foreach (Piece piece in _pieces)
        {
            if (piece.SizeInBytes == 0)
            {
                continue;
            }

            if (piece.SizeInBytes - 1 > ulong.MaxValue - piece.Start || piece.Start + piece.SizeInBytes - 1 > uint.MaxValue)
            {
                throw new BootImageException(imageName, piece.Name, $"0x{piece.SizeInBytes:X} bytes at 0x{piece.Start:X8} run past 4 GiB");
            }

            AddressRange range = AddressRange.FromStartAndSize(new PhysicalAddress(piece.Start), piece.SizeInBytes);
            if (!E820Map.IsWithinRam(map, range))
            {
                E820Entry? ram = E820Map.FindRam(map, range.Start);
                string where = ram is null
                    ? $"{range.Start} is not in RAM"
                    : $"the RAM there ends at {ram.Value.LastAddress}";
                throw new BootImageException(imageName, piece.Name, $"needs {range} but {where}: the image is too big for the guest's RAM or placed outside it");
            }
        }

        // Sorted by start, a piece overlaps an earlier one exactly when it starts at or below the
        // highest last address seen so far.
        Piece? widest = null;
        foreach (Piece current in _pieces.Where(p => p.SizeInBytes > 0).OrderBy(p => p.Start))
        {
            if (widest is not null && current.Start <= widest.Last)
            {
                throw new BootImageException(
                    imageName,
                    current.Name,
                    $"[0x{current.Start:X8}..0x{current.Last:X8}] overlaps {widest.Name} [0x{widest.Start:X8}..0x{widest.Last:X8}]");
            }

            if (widest is null || current.Last > widest.Last)
            {
                widest = current;
            }
        }
    }

    /// <summary>Writes every piece (data, then zeros for the rest of its size); reserved pieces are left alone.</summary>
    public void Apply(IGuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        byte[]? zeros = null;
        foreach (Piece piece in _pieces.Where(p => !p.Reserve))
        {
            if (piece.Source is not null)
            {
                CopyStream(memory, piece);
                continue;
            }

            memory.Write(new PhysicalAddress(piece.Start), piece.Data.Span);
            ulong done = (ulong)piece.Data.Length;
            while (done < piece.SizeInBytes)
            {
                zeros ??= new byte[64 * 1024];
                int count = (int)Math.Min((ulong)zeros.Length, piece.SizeInBytes - done);
                memory.Write(new PhysicalAddress(piece.Start + done), zeros.AsSpan(0, count));
                done += (ulong)count;
            }
        }
    }

    private static void CopyStream(IGuestMemory memory, Piece piece)
    {
        Stream source = piece.Source!;
        source.Position = 0;
        byte[] buffer = new byte[(int)Math.Min(piece.SizeInBytes, StreamCopyBufferSizeInBytes)];
        ulong done = 0;
        while (done < piece.SizeInBytes)
        {
            int want = (int)Math.Min((ulong)buffer.Length, piece.SizeInBytes - done);
            int read = source.ReadAtLeast(buffer.AsSpan(0, want), want, throwOnEndOfStream: false);
            if (read < want)
            {
                // The length was checked before the first write; a file that shrinks while it is copied is the host's doing.
                throw new BootImageException(piece.SourceName!, "file size", $"the file ended after 0x{done + (ulong)read:X} of the 0x{piece.SizeInBytes:X} bytes it had when the load started (changed while loading?)");
            }

            memory.Write(new PhysicalAddress(piece.Start + done), buffer.AsSpan(0, read));
            done += (ulong)read;
        }
    }

    private sealed record Piece(string Name, ulong Start, ulong SizeInBytes, ReadOnlyMemory<byte> Data, bool Reserve)
    {
        public ulong Last => Start + SizeInBytes - 1;

        /// <summary>For <see cref="WriteFromStream"/>: the stream the bytes come from.</summary>
        public Stream? Source { get; init; }

        public string? SourceName { get; init; }
    }
}
