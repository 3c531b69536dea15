using Xunit;

namespace Virt.Machine.Tests.Running;

/// <summary>The host memory a machine costs follows the RAM its guest touches, not the RAM it is given.</summary>
public sealed class MachineMemoryCostTests
{
    [Fact]
    public void BuildingAnIdleOneTibGuestAllocatesLittleManagedHeap()
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        using Machine machine = new MachineBuilder().WithMemorySize(MachineBuilder.MaximumMemorySizeInBytes).Build();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // An allocation count, not a timing: per-page arrays sized by guest RAM cost 545 MiB here (a bool per page
        // for code marks, a chunk pointer and reference per 64 KiB, a dirty bit per page); the whole machine now
        // costs about 1.3 MiB (docs/architecture.md). 64 MiB leaves room for device and CPU caches.
        Assert.InRange(allocated, 0, 64L << 20);

        // The pc board writes its ACPI tables below the PCI hole and the RSDP into the BIOS area: the RAM chunks they
        // land in are all that is allocated. The ISA board writes nothing.
        Assert.InRange(machine.Memory.AllocatedRamBytes, 1, 128 << 10);
        using Machine isa = new MachineBuilder().WithBoard(MachineBoard.IsaPc).WithMemorySize(MachineBuilder.MaximumMemorySizeInBytes).Build();
        Assert.Equal(0, isa.Memory.AllocatedRamBytes);
    }
}
