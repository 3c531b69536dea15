using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.ProtectedMode.ProtectedModeHarness;

namespace Virt.Cpu.Tests.ProtectedMode;

/// <summary>32-bit paging: the walk, rights, A/D bits, #PF with CR2 and error code, 4 MiB pages, INVLPG (Intel SDM Vol. 3A, chapter 4).</summary>
public sealed class PagingTests
{
    private const uint PageDirectory = 0x60000;
    private const uint LowTable = 0x61000; // linear 0-4 MiB: identity for the 1 MiB of RAM
    private const uint HighTable = 0x62000; // linear 4-8 MiB
    private const uint Rw = 2;
    private const uint User = 4;

    private static H CreatePaged()
    {
        var m = new H();
        m.Memory.WriteDoubleWord(new PhysicalAddress(PageDirectory), LowTable | 1 | Rw | User);
        m.Memory.WriteDoubleWord(new PhysicalAddress(PageDirectory + 4), HighTable | 1 | Rw | User);
        for (uint page = 0; page < 256; page++)
        {
            m.Memory.WriteDoubleWord(new PhysicalAddress(LowTable + (page * 4)), (page << 12) | 1 | Rw | User);
        }

        return m;
    }

    private static void MapHigh(H m, uint linear, uint physical, uint flags) =>
        m.Memory.WriteDoubleWord(new PhysicalAddress(HighTable + (((linear >> 12) & 0x3FF) * 4)), physical | flags);

    private static uint Pte(H m, uint linear) => m.Memory.ReadDoubleWord(new PhysicalAddress(HighTable + (((linear >> 12) & 0x3FF) * 4)));

    private static void EnablePaging(Iced.Intel.Assembler a, bool writeProtect = false)
    {
        a.mov(eax, PageDirectory);
        a.mov(cr3, eax);
        a.mov(eax, cr0);
        a.or(eax, unchecked((int)0x8000_0000) | (writeProtect ? 0x10000 : 0));
        a.mov(cr0, eax);
    }

    [Fact]
    public void Mapped_page_reaches_its_frame_and_sets_accessed_and_dirty()
    {
        var m = CreatePaged();
        MapHigh(m, 0x400000, 0x50000, 1 | Rw);
        MapHigh(m, 0x401000, 0x51000, 1 | Rw);
        m.Memory.WriteDoubleWord(new PhysicalAddress(0x51010), 0xCAFEBABE);
        m.Run(a =>
        {
            EnablePaging(a);
            a.mov(__dword_ptr[0x400010], 0x12345678);
            a.mov(ebx, __dword_ptr[0x401010]);
            a.hlt();
        });
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0x12345678u, m.Dword(0x50010));
        Assert.Equal(0xCAFEBABEUL, m.Reg(GeneralRegister.Rbx));
        Assert.Equal(0x60u, Pte(m, 0x400000) & 0x60); // written: accessed and dirty
        Assert.Equal(0x20u, Pte(m, 0x401000) & 0x60); // read: accessed only
        Assert.Equal(0x20u, m.Dword(PageDirectory + 4) & 0x20);
    }

    [Theory]
    [InlineData(false, 0x0u)] // read of a not-present page
    [InlineData(true, 0x2u)] // write of a not-present page
    public void Not_present_page_is_pf_with_cr2_and_error_code(bool write, uint errorCode)
    {
        var m = CreatePaged();
        m.InstallGate(14);
        m.Run(a =>
        {
            EnablePaging(a);
            if (write)
            {
                a.mov(__dword_ptr[0x402344], eax);
            }
            else
            {
                a.mov(eax, __dword_ptr[0x402344]);
            }

            a.hlt();
        });
        Assert.Equal(14, m.Cpu.LastExceptionVector);
        Assert.Equal(0x402344UL, m.Cpu.Cr2);
        Assert.Equal(errorCode, m.Dword(H.StackTop - 16));
    }

    [Fact]
    public void Supervisor_write_to_a_read_only_page_faults_only_with_cr0_wp()
    {
        var m = CreatePaged();
        MapHigh(m, 0x400000, 0x50000, 1); // present, read-only, supervisor
        m.InstallGate(14);
        m.Run(a =>
        {
            EnablePaging(a);
            a.mov(__dword_ptr[0x400000], 1); // WP = 0: allowed
            a.mov(eax, cr0);
            a.or(eax, 0x10000);
            a.mov(cr0, eax);
            a.mov(__dword_ptr[0x400004], 2); // WP = 1: #PF, present + write = 3
            a.hlt();
        });
        Assert.Equal(1u, m.Dword(0x50000));
        Assert.Equal(0u, m.Dword(0x50004));
        Assert.Equal(14, m.Cpu.LastExceptionVector);
        Assert.Equal(3u, m.Dword(H.StackTop - 16));
        Assert.Equal(0x400004UL, m.Cpu.Cr2);
    }

    [Fact]
    public void Four_mib_page_with_pse_maps_a_large_frame_and_sets_its_dirty_bit()
    {
        var m = CreatePaged();
        m.Memory.WriteDoubleWord(new PhysicalAddress(PageDirectory + 8), 0x0000_0000 | 0x80 | 1 | Rw); // linear 8 MiB -> physical 0
        m.Run(a =>
        {
            a.mov(eax, 1 << 4);
            a.mov(cr4, eax); // CR4.PSE
            EnablePaging(a);
            a.mov(__dword_ptr[0x800000 + 0x70000], 0x5A5A5A5A);
            a.hlt();
        });
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0x5A5A5A5Au, m.Dword(0x70000));
        Assert.Equal(0x60u, m.Dword(PageDirectory + 8) & 0x60);
    }

    [Fact]
    public void Invlpg_makes_a_changed_mapping_visible()
    {
        var m = CreatePaged();
        MapHigh(m, 0x400000, 0x50000, 1 | Rw);
        m.Memory.WriteDoubleWord(new PhysicalAddress(0x50000), 0x1111);
        m.Memory.WriteDoubleWord(new PhysicalAddress(0x52000), 0x2222);
        m.Run(a =>
        {
            EnablePaging(a);
            a.mov(ebx, __dword_ptr[0x400000]);
            a.mov(__dword_ptr[HighTable], 0x52000 | 3); // remap through the identity-mapped page table
            a.invlpg(__[0x400000]);
            a.mov(ecx, __dword_ptr[0x400000]);
            a.hlt();
        });
        Assert.Equal(0x1111UL, m.Reg(GeneralRegister.Rbx));
        Assert.Equal(0x2222UL, m.Reg(GeneralRegister.Rcx));
    }

    [Fact]
    public void Instruction_fetch_from_a_not_present_page_is_pf_at_that_address()
    {
        var m = CreatePaged();
        m.InstallGate(14);
        m.Run(a =>
        {
            EnablePaging(a);
            a.mov(eax, 0x403000);
            a.jmp(eax);
        });
        Assert.Equal(14, m.Cpu.LastExceptionVector);
        Assert.Equal(0x403000UL, m.Cpu.Cr2);
        Assert.Equal(0u, m.Dword(H.StackTop - 16));
        Assert.Equal(0x403000u, m.Dword(H.StackTop - 12)); // the faulting EIP
    }

    [Fact]
    public void User_access_to_a_supervisor_page_is_pf_with_the_user_bit()
    {
        var m = CreatePaged();
        MapHigh(m, 0x400000, 0x50000, 1 | Rw); // supervisor page
        m.InstallGate(14);
        const uint ring3 = 0x12000;
        m.Memory.Write(new PhysicalAddress(ring3), H.Assemble(32, a =>
        {
            a.mov(eax, H.Dpl3Data | 3);
            a.mov(ds, eax); // the IRET to ring 3 nulled DS (DPL 0)
            a.mov(eax, __dword_ptr[0x400000]);
        }, ring3));
        m.Run(a =>
        {
            EnablePaging(a);
            a.mov(ax, H.Tss32);
            a.ltr(ax);
            a.push(H.Dpl3Data | 3);
            a.push(0x7F000);
            a.push(2);
            a.push(H.Code3 | 3);
            a.push(ring3);
            a.iretd();
        });
        Assert.Equal(14, m.Cpu.LastExceptionVector);
        Assert.Equal(0x400000UL, m.Cpu.Cr2);
        Assert.Equal(5u, m.Dword(0x70000 - 24)); // protection violation (P = 1) by a user-mode (U/S = 4) read
    }
}
