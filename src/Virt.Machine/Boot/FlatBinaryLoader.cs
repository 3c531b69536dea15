using Virt.Memory;

namespace Virt.Machine.Boot;

/// <summary>
/// Loads a flat binary (no header) at a guest physical address and hands over with a given entry
/// state: a real-mode CS:IP (<see cref="BootEntryState.RealMode"/>) or a 32-bit flat protected-mode
/// EIP (<see cref="BootEntryState.FlatProtectedMode"/>, for which the boot GDT is written at
/// <see cref="BootEntryState.GdtBase"/>).
/// </summary>
/// <remarks>
/// A seekable stream (a file) is copied into guest memory in 1 MiB pieces after its length was checked against
/// the memory map, so the host never holds the whole image: a 2 GiB image costs 2 GiB of guest RAM and a
/// 1 MiB buffer. Only a stream that cannot seek is read whole first (up to
/// 1 GiB), because its length is unknown until its end and nothing
/// may be written before the image is known to fit.
/// </remarks>
public static class FlatBinaryLoader
{
    /// <summary>Loads <paramref name="image"/> at <paramref name="loadAddress"/>.</summary>
    /// <param name="memory">Guest memory.</param>
    /// <param name="image">The binary (read from its start when seekable).</param>
    /// <param name="imageName">The file name for messages.</param>
    /// <param name="loadAddress">Where the first byte goes.</param>
    /// <param name="entry">The entry state; in protected mode its GDT base says where the boot GDT goes.</param>
    /// <param name="memoryMap">The guest's e820 map: the binary (and GDT) must lie within one RAM entry each.</param>
    /// <returns>The entry state and the regions written.</returns>
    /// <exception cref="BootImageException">When the file is empty, does not fit in RAM there, or overlaps the GDT.</exception>
    public static BootLoadResult Load(IGuestMemory memory, Stream image, string imageName, PhysicalAddress loadAddress, BootEntryState entry, IReadOnlyList<E820Entry> memoryMap)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentException.ThrowIfNullOrEmpty(imageName);
        E820Entry[] map = E820Map.Validate(memoryMap, nameof(memoryMap));
        if (!image.CanRead)
        {
            throw new ArgumentException($"The stream of {imageName} is not readable.", nameof(image));
        }

        var plan = new GuestMemoryPlan();
        if (image.CanSeek)
        {
            long length = image.Length;
            if (length == 0)
            {
                throw new BootImageException(imageName, "file size", "the file is empty");
            }

            plan.WriteFromStream("flat binary", loadAddress.Value, image, (ulong)length, imageName);
        }
        else
        {
            byte[] bytes = BootImageReader.ReadAll(image, imageName, nameof(image));
            if (bytes.Length == 0)
            {
                throw new BootImageException(imageName, "file size", "the file is empty");
            }

            plan.Write("flat binary", loadAddress.Value, bytes);
        }

        if (entry.Mode == BootCpuMode.ProtectedMode32)
        {
            if (entry.GdtLimit != BootGdt.Limit)
            {
                throw new ArgumentException($"A protected-mode entry state for a flat binary must use the boot GDT (limit 0x{BootGdt.Limit:X}); build it with {nameof(BootEntryState)}.{nameof(BootEntryState.FlatProtectedMode)}.", nameof(entry));
            }

            plan.Write("boot GDT", entry.GdtBase, BootGdt.ToBytes());
        }

        plan.Validate(map, imageName);
        plan.Apply(memory);
        return new BootLoadResult(entry, plan.Regions);
    }
}
