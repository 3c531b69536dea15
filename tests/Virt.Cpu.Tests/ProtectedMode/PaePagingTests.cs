using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.ProtectedMode.ProtectedModeHarness;

namespace Virt.Cpu.Tests.ProtectedMode;

/// <summary>
/// PAE paging run by guest code: enabling it through CR4/CR3/CR0, 4 KiB and 2 MiB pages, execute-disable with EFER.NXE,
/// the PDPTE check on CR3 loads, IA32_EFER, and INVLPG (Intel SDM Vol. 3A, 4.4, 4.6.2, 4.7, 4.10.4).
/// </summary>
public sealed class PaePagingTests
{
    private const uint Pdpt = 0x60000;
    private const uint PageDirectory = 0x61000;
    private const uint LowTable = 0x62000; // linear 0-2 MiB: identity for the 1 MiB of RAM
    private const uint HighTable = 0x63000; // linear 2-4 MiB
    private const uint Rw = 2;
    private const uint User = 4;
    private const uint Efer = 0xC000_0080;
    private const ulong ExecuteDisable = 1UL << 63;

    private static H CreatePaged()
    {
        var m = new H();
        m.Memory.WriteQuadWord(new PhysicalAddress(Pdpt), PageDirectory | 1);
        m.Memory.WriteQuadWord(new PhysicalAddress(PageDirectory), LowTable | 1 | Rw | User);
        m.Memory.WriteQuadWord(new PhysicalAddress(PageDirectory + 8), HighTable | 1 | Rw | User);
        for (uint page = 0; page < 256; page++)
        {
            m.Memory.WriteQuadWord(new PhysicalAddress(LowTable + (page * 8)), (page << 12) | 1 | Rw | User);
        }

        return m;
    }

    private static void MapHigh(H m, uint linear, ulong entry) =>
        m.Memory.WriteQuadWord(new PhysicalAddress(HighTable + (((linear >> 12) & 0x1FF) * 8)), entry);

    private static ulong Entry(H m, uint address) => m.Memory.ReadQuadWord(new PhysicalAddress(address));

    private static void EnablePae(Iced.Intel.Assembler a, bool nxe = false)
    {
        if (nxe)
        {
            a.mov(ecx, Efer);
            a.rdmsr();
            a.or(eax, 1 << 11);
            a.wrmsr();
        }

        a.mov(eax, cr4);
        a.or(eax, 1 << 5);
        a.mov(cr4, eax);
        a.mov(eax, Pdpt);
        a.mov(cr3, eax);
        a.mov(eax, cr0);
        a.or(eax, unchecked((int)0x8000_0000));
        a.mov(cr0, eax);
    }

    [Fact]
    public void Four_kib_page_maps_through_the_pdpte_and_sets_accessed_and_dirty_in_64_bit_entries()
    {
        var m = CreatePaged();
        MapHigh(m, 0x200000, 0x50000 | 1 | Rw);
        MapHigh(m, 0x201000, 0x51000 | 1 | Rw);
        m.Memory.WriteDoubleWord(new PhysicalAddress(0x51010), 0xCAFEBABE);
        m.Run(a =>
        {
            EnablePae(a);
            a.mov(__dword_ptr[0x200010], 0x12345678);
            a.mov(ebx, __dword_ptr[0x201010]);
            a.hlt();
        });
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0x12345678u, m.Dword(0x50010));
        Assert.Equal(0xCAFEBABEUL, m.Reg(GeneralRegister.Rbx));
        Assert.Equal(0x60UL, Entry(m, HighTable) & 0x60);
        Assert.Equal(0x20UL, Entry(m, HighTable + 8) & 0x60);
        Assert.Equal((ulong)PageDirectory | 1, m.Cpu.GetPdpte(0));
    }

    [Fact]
    public void Two_mib_page_maps_a_large_frame_whatever_cr4_pse_says()
    {
        var m = CreatePaged();
        m.Memory.WriteQuadWord(new PhysicalAddress(PageDirectory + 16), 0x0000_0000 | 0x80 | 1 | Rw); // linear 4 MiB -> physical 0
        m.Run(a =>
        {
            EnablePae(a);
            a.mov(__dword_ptr[0x400000 + 0x70000], 0x5A5A5A5A);
            a.hlt();
        });
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0x5A5A5A5Au, m.Dword(0x70000));
        Assert.Equal(0x60UL, Entry(m, PageDirectory + 16) & 0x60);
    }

    [Fact]
    public void Fetch_from_an_execute_disabled_page_is_pf_with_the_instruction_fetch_bit_while_data_reads_work()
    {
        var m = CreatePaged();
        MapHigh(m, 0x200000, 0x50000 | 1 | Rw | ExecuteDisable);
        m.Memory.WriteByte(new PhysicalAddress(0x50000), 0x90); // NOP, never executed
        m.InstallGate(14);
        m.Run(a =>
        {
            EnablePae(a, nxe: true);
            a.mov(ebx, __dword_ptr[0x200000]);
            a.mov(eax, 0x200000);
            a.jmp(eax);
        });
        Assert.Equal(14, m.Cpu.LastExceptionVector);
        Assert.Equal(0x90UL, m.Reg(GeneralRegister.Rbx) & 0xFF);
        Assert.Equal(0x200000UL, m.Cpu.Cr2);
        Assert.Equal(0x11u, m.Dword(H.StackTop - 16)); // present + instruction fetch
        Assert.Equal(0x200000u, m.Dword(H.StackTop - 12)); // the faulting EIP
    }

    [Fact]
    public void Execute_disable_bit_without_nxe_is_a_reserved_bit_fault()
    {
        var m = CreatePaged();
        MapHigh(m, 0x200000, 0x50000 | 1 | Rw | ExecuteDisable);
        m.InstallGate(14);
        m.Run(a =>
        {
            EnablePae(a);
            a.mov(ebx, __dword_ptr[0x200000]);
            a.hlt();
        });
        Assert.Equal(14, m.Cpu.LastExceptionVector);
        Assert.Equal(0x9u, m.Dword(H.StackTop - 16)); // present + reserved bit
        Assert.Equal(0UL, Entry(m, HighTable) & 0x20); // no accessed bit on a faulting walk
    }

    [Fact]
    public void Loading_cr3_with_a_reserved_bit_in_a_present_pdpte_is_gp_and_keeps_the_old_cr3()
    {
        var m = CreatePaged();
        m.Memory.WriteQuadWord(new PhysicalAddress(0x64000), PageDirectory | 1 | 2); // bit 1 is reserved in a PDPTE
        m.InstallGate(13);
        m.Run(a =>
        {
            EnablePae(a);
            a.mov(eax, 0x64000);
            a.mov(cr3, eax);
            a.hlt();
        });
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(0u, m.Dword(H.StackTop - 16));
        Assert.Equal((ulong)Pdpt, m.Cpu.Cr3);
    }

    [Fact]
    public void Efer_accepts_nxe_and_rejects_long_mode_enable_on_a_32_bit_model()
    {
        var m = new H(CpuidModel.P6);
        m.InstallGate(13);
        m.Run(a =>
        {
            a.mov(ecx, Efer);
            a.xor(edx, edx);
            a.mov(eax, 1 << 11);
            a.wrmsr();
            a.rdmsr();
            a.mov(ebx, eax);
            a.mov(eax, (1 << 11) | (1 << 8)); // LME: the P6 model has no long mode
            a.wrmsr();
            a.hlt();
        });
        Assert.Equal(0x800UL, m.Reg(GeneralRegister.Rbx));
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(0x800UL, m.Cpu.Efer);
    }

    [Fact]
    public void Invlpg_anywhere_in_a_large_page_drops_every_cached_slice_of_it()
    {
        var m = CreatePaged();
        m.Memory.WriteQuadWord(new PhysicalAddress(PageDirectory + 16), 0x0000_0000 | 0x80 | 1 | Rw); // 4 MiB -> frame 0
        m.Memory.WriteDoubleWord(new PhysicalAddress(0x1000), 0x1111);
        m.Run(a =>
        {
            EnablePae(a);
            a.mov(ebx, __dword_ptr[0x401000]); // caches the slice at 401000h
            a.mov(__dword_ptr[PageDirectory + 16], 0x0020_0000 | 0x80 | 1 | Rw); // remap to frame 2 MiB (no RAM: open bus)
            a.invlpg(__byte_ptr[0x400000]); // a different 4 KiB slice of the same 2 MiB page
            a.mov(ecx, __dword_ptr[0x401000]);
            a.hlt();
        });
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0x1111UL, m.Reg(GeneralRegister.Rbx));
        Assert.Equal(0xFFFF_FFFFUL, m.Reg(GeneralRegister.Rcx)); // the new mapping: no RAM at 2 MiB, open bus reads all ones
    }

    [Fact]
    public void Invlpg_of_a_four_kib_page_makes_its_new_mapping_visible()
    {
        var m = CreatePaged();
        MapHigh(m, 0x200000, 0x50000 | 1 | Rw);
        m.Memory.WriteDoubleWord(new PhysicalAddress(0x50000), 0x1111);
        m.Memory.WriteDoubleWord(new PhysicalAddress(0x52000), 0x2222);
        m.Run(a =>
        {
            EnablePae(a);
            a.mov(ebx, __dword_ptr[0x200000]);
            a.mov(__dword_ptr[HighTable], 0x52000 | 1 | Rw);
            a.invlpg(__byte_ptr[0x200000]);
            a.mov(ecx, __dword_ptr[0x200000]);
            a.hlt();
        });
        Assert.Equal(0x1111UL, m.Reg(GeneralRegister.Rbx));
        Assert.Equal(0x2222UL, m.Reg(GeneralRegister.Rcx));
    }
}
