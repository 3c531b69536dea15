using System.Globalization;
using System.IO.Compression;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Virt.Cpu;
using Virt.Devices;
using Virt.Memory;

namespace Virt.Machine;

/// <summary>Whole-machine snapshots: <see cref="SaveState"/> plus RAM, in one versioned, checksummed stream (docs/snapshots.md).</summary>
public sealed partial class Machine
{
    private const int PagesPerChunk = PhysicalMemoryMap.RamChunkSizeInBytes / PhysicalMemoryMap.PageSizeInBytes;

    /// <summary>The shadow mode byte of a region that is not a shadowable ROM.</summary>
    private const byte NotShadowable = 0xFF;

    /// <summary>Device records as plain JSON; a null where the record type says non-null, or a missing constructor parameter, is an error.</summary>
    private static readonly JsonSerializerOptions s_snapshotJson = new()
    {
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    /// <summary>
    /// Writes the whole machine to <paramref name="stream"/>: a header, the configuration fingerprint, the A20 gate, the
    /// CPU, the clock, every stateful device and all allocated RAM (including the shadow RAM of shadowable ROMs), each
    /// as a section with a CRC-32. Chunks never written are left out and all-zero pages cost a bit, the rest is deflated.
    /// Restore it with <see cref="RestoreSnapshot"/> into a machine built with the same configuration.
    /// </summary>
    /// <param name="stream">A writable stream; it is not closed.</param>
    /// <param name="allowStatelessDevices">
    /// Save even when a device does not implement <see cref="IStatefulDevice{TState}"/> (a custom device): its state is
    /// then not in the snapshot, and after a restore it keeps whatever state it has. False refuses such a machine.
    /// </param>
    /// <param name="allowDisksByReference">
    /// Save even when a writable drive is not on a copy-on-write overlay (<see cref="MachineBuilder.WithDiskSnapshot"/>):
    /// the guest's writes went to the image itself, so the snapshot records it only by name and capacity, and a restore
    /// pairs the saved RAM with whatever the image holds then. False refuses such a machine. Read-only images, CDs and
    /// overlays need no permission (docs/snapshots.md, "Disks").
    /// </param>
    /// <exception cref="InvalidOperationException">When a device cannot save its state and <paramref name="allowStatelessDevices"/> is false, or a writable drive has no overlay and <paramref name="allowDisksByReference"/> is false; the message names it.</exception>
    /// <exception cref="IOException">When reading a disk image (its fingerprint, an overlay's scratch file) fails.</exception>
    public void SaveSnapshot(Stream stream, bool allowStatelessDevices = false, bool allowDisksByReference = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!allowStatelessDevices)
        {
            string[] stateless = [.. _devices.Where(d => !StatefulDevices.Any(s => s.Name == d.Name)).Select(d => $"'{d.Name}' ({d.GetType().Name})")];
            if (stateless.Length > 0)
            {
                throw new InvalidOperationException(
                    $"Cannot snapshot: device {string.Join(", ", stateless)} does not implement IStatefulDevice<T>, so its state would be lost. " +
                    "Implement it, or pass allowStatelessDevices: true to save the rest.");
            }
        }

        List<MachineDrive> drives = EnumerateDrives();
        CheckDisksCanBeSaved(drives, allowDisksByReference);
        MachineState state = SaveState();
        SnapshotStream.WriteHeader(stream);
        SnapshotStream.WriteSection(stream, SnapshotSectionId.Configuration, WriteConfiguration(DescribeConfiguration()));
        SnapshotStream.WriteSection(stream, SnapshotSectionId.MachineFlags, [state.A20Enabled ? (byte)1 : (byte)0]);
        SnapshotStream.WriteSection(stream, SnapshotSectionId.Cpu, JsonSerializer.SerializeToUtf8Bytes(state.Cpu, s_snapshotJson));
        SnapshotStream.WriteSection(stream, SnapshotSectionId.Clock, JsonSerializer.SerializeToUtf8Bytes(state.Clock, s_snapshotJson));
        foreach (DeviceStateAccess device in StatefulDevices)
        {
            var payload = new MemoryStream();
            using (var writer = new BinaryWriter(payload, Encoding.UTF8, leaveOpen: true))
            {
                writer.Write(device.Name);
                writer.Write(device.StateType.FullName ?? device.StateType.Name);
                byte[] json = JsonSerializer.SerializeToUtf8Bytes(state.Devices[device.Name], device.StateType, s_snapshotJson);
                writer.Write(json.Length);
                writer.Write(json);
            }

            SnapshotStream.WriteSection(stream, SnapshotSectionId.Device, payload.ToArray());
        }

        IReadOnlyList<string> regions = Memory.RamRegionNames;
        byte[] chunkBuffer = new byte[PhysicalMemoryMap.RamChunkSizeInBytes];
        for (int ordinal = 0; ordinal < regions.Count; ordinal++)
        {
            string name = regions[ordinal];
            IReadOnlyList<long> chunks = Memory.GetAllocatedRamChunks(name);
            var header = new MemoryStream();
            using (var writer = new BinaryWriter(header, Encoding.UTF8, leaveOpen: true))
            {
                writer.Write(name);
                writer.Write(Memory.GetRamSizeInBytes(name));
                writer.Write(IsShadowable(name) ? (byte)Memory.GetShadowMode(name) : NotShadowable);
            }

            SnapshotStream.WriteSection(stream, SnapshotSectionId.RamRegion, header.ToArray());
            foreach (long chunk in chunks)
            {
                if (EncodeChunk(ordinal, chunk, Memory.PeekRamChunk(name, chunk), chunkBuffer) is { } payload)
                {
                    SnapshotStream.WriteSection(stream, SnapshotSectionId.RamChunk, payload);
                }
            }
        }

        WriteDisks(stream, drives);
        SnapshotStream.WriteSection(stream, SnapshotSectionId.End, []);
        stream.Flush();
    }

    /// <summary>
    /// Restores a snapshot written by <see cref="SaveSnapshot"/> into this machine, which must be built with the same
    /// configuration (RAM regions and sizes, CPU model, devices by name and type). The whole stream is read and checked
    /// first (header, every checksum and field, the decompressed RAM, the configuration, every record) and only then
    /// applied; on any error the machine is exactly as before. Afterwards the guest continues where the snapshot was
    /// taken: boot images given to the builder were loaded at build time and are overwritten with the saved RAM.
    /// </summary>
    /// <param name="stream">A readable stream positioned at the snapshot; read up to the end section.</param>
    /// <exception cref="SnapshotFormatException">When the stream is not a valid snapshot; the message names the section and field.</exception>
    /// <exception cref="SnapshotMismatchException">When the snapshot was taken on another configuration; the message names the differences.</exception>
    public void RestoreSnapshot(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ObjectDisposedException.ThrowIf(_disposed, this);
        StagedSnapshot staged = ReadSnapshot(stream);
        MachineState state = staged.ToState(DeserializeDevices(staged.Devices));
        try
        {
            ValidateState(state);
        }
        catch (ArgumentException e)
        {
            throw new SnapshotFormatException($"Snapshot device sections: {e.Message}", e);
        }

        if (staged.Ram.Count != Memory.RamRegionNames.Count)
        {
            throw new SnapshotFormatException($"Snapshot 'RAMR' sections: {staged.Ram.Count} regions, this machine has {Memory.RamRegionNames.Count}.");
        }

        // Everything is checked: apply. The disks first (an in-memory overlay is replaced at once; only a scratch file's
        // I/O can fail, before the CPU, devices and RAM change), then RestoreState (all or nothing), then the RAM, which
        // cannot be refused any more.
        ApplyDisks(staged);
        try
        {
            RestoreState(state);
        }
        catch (ArgumentException e)
        {
            throw new SnapshotFormatException($"Snapshot state sections: {e.Message}", e);
        }

        foreach (StagedRam ram in staged.Ram)
        {
            Memory.RestoreRam(ram.Name, ram.Chunks);
            if (ram.ShadowMode != NotShadowable)
            {
                Memory.SetShadowMode(ram.Name, (ShadowMode)ram.ShadowMode);
            }
        }
    }

    /// <summary>The page bitmap and deflated non-zero pages of one chunk, or null when the chunk is all zeros.</summary>
    private static byte[]? EncodeChunk(int regionOrdinal, long chunkIndex, ReadOnlySpan<byte> chunk, byte[] buffer)
    {
        ushort bitmap = 0;
        int used = 0;
        for (int page = 0; page < PagesPerChunk; page++)
        {
            ReadOnlySpan<byte> bytes = chunk.Slice(page * PhysicalMemoryMap.PageSizeInBytes, PhysicalMemoryMap.PageSizeInBytes);
            if (bytes.ContainsAnyExcept((byte)0))
            {
                bitmap |= (ushort)(1 << page);
                bytes.CopyTo(buffer.AsSpan(used));
                used += bytes.Length;
            }
        }

        if (bitmap == 0)
        {
            return null;
        }

        var payload = new MemoryStream();
        using (var writer = new BinaryWriter(payload, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(regionOrdinal);
            writer.Write(chunkIndex);
            writer.Write(bitmap);
        }

        using (var deflate = new DeflateStream(payload, CompressionLevel.Fastest, leaveOpen: true))
        {
            deflate.Write(buffer, 0, used);
        }

        return payload.ToArray();
    }

    private static byte[] WriteConfiguration(IReadOnlyList<ConfigurationItem> items)
    {
        var payload = new MemoryStream();
        using var writer = new BinaryWriter(payload, Encoding.UTF8, leaveOpen: true);
        writer.Write(items.Count);
        foreach (ConfigurationItem item in items)
        {
            writer.Write(item.Kind);
            writer.Write(item.Name);
            writer.Write(item.Description);
        }

        writer.Flush();
        return payload.ToArray();
    }

    private StagedSnapshot ReadSnapshot(Stream stream)
    {
        SnapshotStream.ReadHeader(stream);
        var staged = new StagedSnapshot();
        for (int ordinal = 0; ; ordinal++)
        {
            (uint id, byte[] payload) = SnapshotStream.ReadSection(stream, ordinal);
            string where = $"Snapshot section #{ordinal} ({SnapshotSectionId.Describe(id)})";
            if (ordinal == 0 && id != SnapshotSectionId.Configuration)
            {
                throw new SnapshotFormatException($"{where}: the first section must be 'CONF'.");
            }

            if (id == SnapshotSectionId.End)
            {
                staged.CheckComplete();
                CheckDisksComplete(staged);
                return staged;
            }

            try
            {
                using var reader = new BinaryReader(new MemoryStream(payload, writable: false), Encoding.UTF8);
                ReadSectionPayload(staged, id, payload, reader, where);
                if (id is not SnapshotSectionId.Cpu and not SnapshotSectionId.Clock and not SnapshotSectionId.RamChunk and not SnapshotSectionId.DiskChunks && reader.BaseStream.Position != payload.Length)
                {
                    throw new SnapshotFormatException($"{where}: {payload.Length - reader.BaseStream.Position} bytes left over after the last field.");
                }
            }
            catch (Exception e) when (e is EndOfStreamException or IOException or JsonException or FormatException or DecoderFallbackException or OverflowException or ArgumentException or NotSupportedException or InvalidOperationException)
            {
                throw new SnapshotFormatException($"{where}: {e.Message}", e);
            }
        }
    }

    private void ReadSectionPayload(StagedSnapshot staged, uint id, byte[] payload, BinaryReader reader, string where)
    {
        switch (id)
        {
            case SnapshotSectionId.Configuration when staged.Configuration is null:
                int count = reader.ReadInt32();
                if (count < 0 || count > payload.Length)
                {
                    throw new SnapshotFormatException($"{where}: item count {count} is out of range.");
                }

                var items = new List<ConfigurationItem>(count);
                for (int i = 0; i < count; i++)
                {
                    items.Add(new ConfigurationItem(reader.ReadString(), reader.ReadString(), reader.ReadString()));
                }

                staged.Configuration = items;

                // A snapshot of another machine is refused before its RAM is read and staged.
                CheckConfiguration(items);
                break;
            case SnapshotSectionId.MachineFlags when staged.A20Enabled is null:
                byte a20 = reader.ReadByte();
                staged.A20Enabled = a20 switch
                {
                    0 => false,
                    1 => true,
                    _ => throw new SnapshotFormatException($"{where}: field A20Enabled is {a20} (expected 0 or 1)."),
                };
                break;
            case SnapshotSectionId.Cpu when staged.Cpu is null:
                staged.Cpu = JsonSerializer.Deserialize<CpuState>(payload, s_snapshotJson) ?? throw new SnapshotFormatException($"{where}: the CPU record is null.");
                break;
            case SnapshotSectionId.Clock when staged.Clock is null:
                staged.Clock = JsonSerializer.Deserialize<VirtualClockState>(payload, s_snapshotJson) ?? throw new SnapshotFormatException($"{where}: the clock record is null.");
                break;
            case SnapshotSectionId.Device:
                string name = reader.ReadString();
                string typeName = reader.ReadString();
                int length = reader.ReadInt32();
                if (length < 0 || length > payload.Length)
                {
                    throw new SnapshotFormatException($"{where}: device '{name}' record length {length} is out of range.");
                }

                if (!staged.Devices.TryAdd(name, new StagedDevice(typeName, reader.ReadBytes(length))))
                {
                    throw new SnapshotFormatException($"{where}: a second record for device '{name}'.");
                }

                break;
            case SnapshotSectionId.RamRegion:
                var region = new StagedRam(reader.ReadString(), reader.ReadUInt64(), reader.ReadByte());
                CheckRamRegion(region, staged.Ram.Count, where);
                staged.Ram.Add(region);
                break;
            case SnapshotSectionId.RamChunk:
                ReadChunk(staged, payload, reader, where);
                break;
            case SnapshotSectionId.Disk:
                ReadDisk(staged, reader, where);
                break;
            case SnapshotSectionId.DiskChunks:
                ReadDiskChunks(staged, payload, reader, where);
                break;
            default:
                throw new SnapshotFormatException($"{where}: an unknown or repeated section.");
        }
    }

    private static void ReadChunk(StagedSnapshot staged, byte[] payload, BinaryReader reader, string where)
    {
        int ordinal = reader.ReadInt32();
        long chunkIndex = reader.ReadInt64();
        ushort bitmap = reader.ReadUInt16();
        if (ordinal != staged.Ram.Count - 1 || chunkIndex < 0 || bitmap == 0)
        {
            throw new SnapshotFormatException($"{where}: field region {ordinal}, chunk {chunkIndex} or page bitmap {bitmap:X4} is out of range (region {staged.Ram.Count - 1} is current).");
        }

        StagedRam ram = staged.Ram[ordinal];
        if (chunkIndex >= ChunkCount(ram.SizeInBytes))
        {
            throw new SnapshotFormatException($"{where}: chunk {chunkIndex} lies beyond the {ram.SizeInBytes} bytes of region '{ram.Name}'.");
        }

        if (ram.Chunks.ContainsKey(chunkIndex))
        {
            throw new SnapshotFormatException($"{where}: chunk {chunkIndex} of region '{ram.Name}' appears twice.");
        }

        byte[] pages = new byte[BitOperations.PopCount(bitmap) * PhysicalMemoryMap.PageSizeInBytes];
        long start = reader.BaseStream.Position;
        using (var deflate = new DeflateStream(new MemoryStream(payload, (int)start, payload.Length - (int)start, writable: false), CompressionMode.Decompress))
        {
            deflate.ReadExactly(pages);
            if (deflate.ReadByte() != -1)
            {
                throw new SnapshotFormatException($"{where}: the compressed pages of chunk {chunkIndex} hold more than the bitmap's {pages.Length} bytes.");
            }
        }

        byte[] chunk = new byte[PhysicalMemoryMap.RamChunkSizeInBytes];
        int used = 0;
        for (int page = 0; page < PagesPerChunk; page++)
        {
            if ((bitmap & (1 << page)) != 0)
            {
                pages.AsSpan(used, PhysicalMemoryMap.PageSizeInBytes).CopyTo(chunk.AsSpan(page * PhysicalMemoryMap.PageSizeInBytes));
                used += PhysicalMemoryMap.PageSizeInBytes;
            }
        }

        ram.Chunks.Add(chunkIndex, chunk);
    }

    /// <summary>Each device record parsed as the record type this machine's device of that name saves.</summary>
    private Dictionary<string, object> DeserializeDevices(Dictionary<string, StagedDevice> staged)
    {
        var devices = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach ((string name, StagedDevice record) in staged)
        {
            DeviceStateAccess access = StatefulDevices.FirstOrDefault(d => d.Name == name)
                ?? throw new SnapshotFormatException($"Snapshot 'DEV' section of device '{name}': this machine has no stateful device of that name.");
            string expected = access.StateType.FullName ?? access.StateType.Name;
            if (record.TypeName != expected)
            {
                throw new SnapshotFormatException($"Snapshot 'DEV' section of device '{name}': field record type is {record.TypeName}, the device saves {expected}.");
            }

            try
            {
                devices.Add(name, JsonSerializer.Deserialize(record.Json, access.StateType, s_snapshotJson)
                    ?? throw new SnapshotFormatException($"Snapshot 'DEV' section of device '{name}': the record is null."));
            }
            catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException or InvalidOperationException)
            {
                throw new SnapshotFormatException($"Snapshot 'DEV' section of device '{name}': {e.Message}", e);
            }
        }

        return devices;
    }

    private static long ChunkCount(ulong sizeInBytes) => (long)((sizeInBytes + PhysicalMemoryMap.RamChunkSizeInBytes - 1) / PhysicalMemoryMap.RamChunkSizeInBytes);

    /// <summary>Checks a 'RAMR' section against this machine's RAM region of that ordinal, so chunk indexes are bounded by a real region.</summary>
    private void CheckRamRegion(StagedRam region, int ordinal, string where)
    {
        IReadOnlyList<string> regions = Memory.RamRegionNames;
        if (ordinal >= regions.Count || region.Name != regions[ordinal])
        {
            throw new SnapshotFormatException($"{where}: region '{region.Name}' is not this machine's RAM region #{ordinal} (regions: {string.Join(", ", regions)}).");
        }

        ulong size = Memory.GetRamSizeInBytes(region.Name);
        if (region.SizeInBytes != size)
        {
            throw new SnapshotFormatException($"{where}: field size {region.SizeInBytes} of region '{region.Name}' is not the region's {size} bytes.");
        }

        bool shadowable = IsShadowable(region.Name);
        if ((region.ShadowMode != NotShadowable) != shadowable || (shadowable && !Enum.IsDefined((ShadowMode)region.ShadowMode)))
        {
            throw new SnapshotFormatException($"{where}: field shadow mode {region.ShadowMode} does not fit region '{region.Name}'.");
        }
    }

    private bool IsShadowable(string regionName) =>
        Memory.Regions.First(r => r.Name == regionName).Kind == MemoryRegionKind.ShadowableRom;

    /// <summary>What must match for a snapshot to fit: every memory region (kind, size), the CPUID model, every device (type).</summary>
    private List<ConfigurationItem> DescribeConfiguration()
    {
        var items = new List<ConfigurationItem>();
        foreach (MemoryRegionInfo region in Memory.Regions)
        {
            items.Add(new ConfigurationItem("memory region", region.Name, string.Create(CultureInfo.InvariantCulture, $"{region.Kind}, {region.Range.SizeInBytesMinusOne + 1} bytes")));
        }

        CpuidModel cpu = _cpuOptions.Cpuid;
        items.Add(new ConfigurationItem("CPU", "CPUID", string.Create(
            CultureInfo.InvariantCulture,
            $"{cpu.Vendor} family {cpu.Family} model {cpu.Model} stepping {cpu.Stepping} '{cpu.Brand}' features {cpu.FeaturesEdx:X8}:{cpu.FeaturesEcx:X8}:{cpu.ExtendedFeaturesEdx:X8}:{cpu.ExtendedFeaturesEcx:X8}")));
        foreach (IDevice device in _devices)
        {
            items.Add(new ConfigurationItem("device", device.Name, device.GetType().FullName ?? device.GetType().Name));
        }

        return items;
    }

    private void CheckConfiguration(IReadOnlyList<ConfigurationItem> saved)
    {
        List<ConfigurationItem> mine = DescribeConfiguration();
        var differences = new List<string>();
        foreach (ConfigurationItem item in saved)
        {
            ConfigurationItem? match = mine.FirstOrDefault(m => m.Kind == item.Kind && m.Name == item.Name);
            if (match is null)
            {
                differences.Add($"the snapshot has {item.Kind} '{item.Name}' ({item.Description}), this machine does not");
            }
            else if (match.Description != item.Description)
            {
                differences.Add($"{item.Kind} '{item.Name}' is {item.Description} in the snapshot but {match.Description} here");
            }
        }

        foreach (ConfigurationItem item in mine.Where(m => !saved.Any(s => s.Kind == m.Kind && s.Name == m.Name)))
        {
            differences.Add($"this machine has {item.Kind} '{item.Name}' ({item.Description}), the snapshot does not");
        }

        if (differences.Count > 0)
        {
            throw new SnapshotMismatchException($"The snapshot was taken on a machine of another configuration: {string.Join("; ", differences)}.");
        }
    }

    private sealed record ConfigurationItem(string Kind, string Name, string Description);

    private sealed record StagedDevice(string TypeName, byte[] Json);

    private sealed record StagedRam(string Name, ulong SizeInBytes, byte ShadowMode)
    {
        public Dictionary<long, byte[]> Chunks { get; } = [];
    }

    /// <summary>A snapshot read and checked in full, before anything of the machine changes.</summary>
    private sealed class StagedSnapshot
    {
        public IReadOnlyList<ConfigurationItem>? Configuration { get; set; }

        public bool? A20Enabled { get; set; }

        public CpuState? Cpu { get; set; }

        public VirtualClockState? Clock { get; set; }

        public Dictionary<string, StagedDevice> Devices { get; } = new(StringComparer.Ordinal);

        public List<StagedRam> Ram { get; } = [];

        /// <summary>This machine's drives, enumerated at the first 'DISK' section.</summary>
        public List<MachineDrive>? Drives { get; set; }

        public List<StagedDisk> Disks { get; } = [];

        public void CheckComplete()
        {
            if (Configuration is null || A20Enabled is null || Cpu is null || Clock is null)
            {
                throw new SnapshotFormatException("Snapshot: the 'CONF', 'MACH', 'CPU' or 'CLCK' section is missing.");
            }
        }

        public MachineState ToState(IReadOnlyDictionary<string, object> devices) => new(MachineState.CurrentVersion, Cpu!, Clock!, A20Enabled!.Value, devices);
    }
}
