using FsCheck.Xunit;
using Virt.Machine.Boot;
using Virt.Memory;

namespace Virt.Machine.Tests.Boot;

/// <summary>The staging plan's checks against a brute-force oracle.</summary>
public sealed class GuestMemoryPlanProperties
{
    private static readonly IReadOnlyList<E820Entry> s_ram = [new(new PhysicalAddress(0), 0x10_0000, E820EntryType.Ram)];

    // Validation fails exactly when two non-empty pieces share a byte or one leaves RAM; when it
    // fails, Apply is never reached, and when it passes every piece is in memory with its bss zeroed.
    [Property(MaxTest = 300)]
    public bool ValidationMatchesPairwiseOverlapAndRamChecks((ushort Start, byte Pages, byte Data)[] pieces)
    {
        pieces ??= [];
        var plan = new GuestMemoryPlan();
        var ranges = new List<(ulong Start, ulong End)>();
        for (int i = 0; i < pieces.Length; i++)
        {
            ulong start = (ulong)pieces[i].Start * 0x10;
            ulong size = (ulong)(pieces[i].Pages % 8) * 0x100;
            byte[] data = new byte[Math.Min((int)size, pieces[i].Data)];
            Array.Fill(data, (byte)(i + 1));
            plan.Write($"piece {i}", start, data, size);
            if (size > 0)
            {
                ranges.Add((start, start + size));
            }
        }

        bool overlap = false;
        for (int a = 0; a < ranges.Count; a++)
        {
            for (int b = a + 1; b < ranges.Count; b++)
            {
                overlap |= ranges[a].Start < ranges[b].End && ranges[b].Start < ranges[a].End;
            }
        }

        bool outside = ranges.Any(r => r.End > 0x10_0000);
        try
        {
            plan.Validate(s_ram, "test.bin");
        }
        catch (BootImageException)
        {
            return overlap || outside;
        }

        var memory = new SparseGuestMemory();
        plan.Apply(memory);
        for (int i = 0; i < pieces.Length; i++)
        {
            ulong start = (ulong)pieces[i].Start * 0x10;
            int size = pieces[i].Pages % 8 * 0x100;
            int dataLength = Math.Min(size, pieces[i].Data);
            byte[] bytes = memory.ReadBytes(start, size);
            if (!bytes.AsSpan(0, dataLength).ToArray().All(b => b == i + 1) || !bytes.AsSpan(dataLength).ToArray().All(b => b == 0))
            {
                return false;
            }
        }

        return !overlap && !outside;
    }
}
